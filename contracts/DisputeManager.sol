// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IDisputeManager} from "./interfaces/IDisputeManager.sol";
import {IDataAvailability} from "./interfaces/IDataAvailability.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IRandomness} from "./interfaces/IRandomness.sol";
import {DisputeLogic} from "./lib/DisputeLogic.sol";
import {DisputeJury} from "./lib/DisputeJury.sol";
import {DisputeQueue} from "./lib/DisputeQueue.sol";
import {DisputeEvidence} from "./lib/DisputeEvidence.sol";
import {BPS, BURN_ADDRESS, MAX_TIMEOUT} from "./lib/UPowConstants.sol";

/// @title DisputeManager
/// @notice Interval disputes (§7.2, v3 V2), pinpointing to one step (§7.3, V9.3), stake-weighted
/// juror committees with commit-reveal, escalation and appeals (§7.4, §7.5, V5, V6), and the money of
/// every outcome (§7.6). Data availability is the DataAvailability contract's (V1).
/// @dev Holds MODULE_ROLE on the StakeManager and DISPUTE_ROLE on the JobMarket. There is no pause:
/// dispute resolution never stops. Every deadline has a permissionless function that moves on.
/// All payouts are pull credits in the staking token (`withdraw`); burns go to `BURN_ADDRESS`.
///
/// Soundness rules (v3): a commitment counts only between the job's submission and its window end
/// and expires after `commitTTL` (its bond burned unless used); several disputes may run on one
/// interval, one per challenger, each on its own deadlines; a conviction's bounty goes to the
/// earliest-ordered live dispute of the job that missed no deadline (a worker's sybil gains nothing
/// by outrunning the finder); a pinpoint timeout never pays the requester nor `replayCost`.
contract DisputeManager is IDisputeManager, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice Steps a challenger may pinpoint in one dispute while rulings come back Indeterminate (V9.3).
    uint8 public constant MAX_PINPOINTS = 3;

    IStakeManager public immutable stakeManager;
    IJobMarket public immutable jobMarket;
    IRandomness public immutable randomness;
    IDataAvailability public immutable dataAvailability;
    IERC20 public immutable stakingToken;

    Params private _params;

    uint256 public disputeCount;
    /// @dev `commitmentCount` and `commitBondsHeld` in one slot, never fresh after the first commitment (issue 17).
    DisputeEvidence.Ledger private _ledger;

    mapping(bytes32 commitment => ChallengeCommitment) private _commitments;
    mapping(uint256 disputeId => Dispute) private _disputes;
    mapping(uint256 disputeId => mapping(uint256 round => RoundInfo)) private _rounds;
    mapping(uint256 disputeId => mapping(uint256 round => mapping(address juror => Vote))) private _votes;
    mapping(uint256 disputeId => mapping(uint256 index => Appeal)) private _appeals;
    mapping(uint256 jobId => DisputeQueue.Queue) private _queues;
    /// @notice The live dispute of a challenger on an interval (at most one, v3 V2.2).
    mapping(uint256 jobId => mapping(uint64 interval => mapping(address challenger => uint256))) public disputeOf;
    /// @notice Whether a challenger already reopened an interval (at most once, v3 V2.3).
    mapping(uint256 jobId => mapping(uint64 interval => mapping(address challenger => bool))) public reopenUsed;
    mapping(uint256 jobId => uint64) private _reopenHold;
    mapping(uint256 jobId => mapping(uint64 interval => bool)) public intervalRefunded;
    mapping(uint256 jobId => mapping(uint64 globalStep => bool)) public stepJudged;
    mapping(address account => uint256 amount) public credits;

    constructor(
        IStakeManager stakeManager_,
        IJobMarket jobMarket_,
        IRandomness randomness_,
        IDataAvailability dataAvailability_,
        address admin,
        Params memory params_
    ) {
        if (address(dataAvailability_) == address(0) || admin == address(0)) revert DisputeManagerZeroAddress();
        stakeManager = stakeManager_;
        jobMarket = jobMarket_;
        randomness = randomness_;
        dataAvailability = dataAvailability_;
        stakingToken = stakeManager_.stakingToken();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        DisputeLogic.storeParams(_params, params_, MAX_TIMEOUT);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IDisputeManager
    function setParams(Params calldata params_) external onlyRole(GOVERNOR_ROLE) {
        DisputeLogic.storeParams(_params, params_, MAX_TIMEOUT);
    }

    /// @inheritdoc IDisputeManager
    function params() external view returns (Params memory) {
        return _params;
    }

    // ------------------------------------------------------------------ opening

    /// @inheritdoc IDisputeManager
    function commitChallenge(bytes32 commitment) external nonReentrant {
        uint256 bond = _params.commitBond;
        DisputeEvidence.commit(_commitments, _ledger, commitment, bond);
        _pull(bond);
    }

    /// @inheritdoc IDisputeManager
    function expireCommitment(bytes32 commitment) external nonReentrant {
        _burn(DisputeEvidence.expire(_commitments, _ledger, commitment, _params.commitTTL));
    }

    /// @inheritdoc IDisputeManager
    function openDispute(
        uint256 jobId,
        uint64 interval,
        bytes32 salt,
        CheckpointProof calldata checkpoint,
        CheckpointProof calldata checkpointNext,
        uint256 hint
    ) external nonReentrant returns (uint256 disputeId) {
        (IJobMarket.JobStatus status,, uint64 windowEnd, uint64 submittedBlock) = _jobState(jobId);
        if (status != IJobMarket.JobStatus.Submitted || block.timestamp > windowEnd) {
            revert DisputeManagerJobNotDisputable(jobId);
        }
        ChallengeCommitment memory c = DisputeEvidence.consume(
            _commitments, _ledger, keccak256(abi.encode(jobId, interval, msg.sender, salt)), submittedBlock, _params.commitTTL
        );
        disputeId = _createDispute(jobId, interval, c.order, c.committedAt, hint);
        _disputes[disputeId].checkpointDemand =
            DisputeEvidence.openEvidence(dataAvailability, jobId, disputeId, interval, checkpoint, checkpointNext);
        _credit(c.challenger, c.bond);
    }

    /// @inheritdoc IDisputeManager
    function reopenDispute(uint256 voidedDisputeId, uint256 hint) external nonReentrant returns (uint256 disputeId) {
        Dispute storage v = _disputes[voidedDisputeId];
        if (msg.sender != v.challenger) revert DisputeManagerNotChallenger(voidedDisputeId, msg.sender);
        uint256 jobId = v.jobId;
        uint64 interval = v.interval;
        (IJobMarket.JobStatus status,, uint64 windowEnd,) = _jobState(jobId);
        if (
            v.ruling != Ruling.Void || reopenUsed[jobId][interval][msg.sender]
                || status != IJobMarket.JobStatus.Submitted || block.timestamp > _reopenDeadline(v, windowEnd)
        ) revert DisputeManagerCannotReopen(voidedDisputeId);
        reopenUsed[jobId][interval][msg.sender] = true;
        disputeId = _createDispute(jobId, interval, v.order, v.committedAt, hint);
        _disputes[disputeId].reopened = true;
        emit DisputeReopened(disputeId, voidedDisputeId);
    }

    function _createDispute(uint256 jobId, uint64 interval, uint64 order, uint64 committedAt, uint256 hint)
        private
        returns (uint256 disputeId)
    {
        if (uint256(interval) + 1 >= jobMarket.checkpointCount(jobId)) revert DisputeManagerInvalidInterval(jobId, interval);
        disputeId = ++disputeCount;
        uint256 bond = _params.disputeBond;
        // Own absolute deadline (V2.2): the worker may need to post leaves, the challenger then replays.
        uint256 deadline = block.timestamp + 2 * jobMarket.answerTimeout(jobId) + _pinpointTimeout(jobId);
        DisputeQueue.Opening memory o = DisputeQueue.Opening(jobId, interval, order, committedAt, uint64(deadline), bond);
        DisputeQueue.open(_queues[jobId], _disputes, disputeOf[jobId][interval], disputeId, o, hint);
        jobMarket.onDisputeOpened(jobId);
        _pull(bond);
    }

    // ------------------------------------------------------------------ pinpointing

    /// @inheritdoc IDisputeManager
    function pinpoint(uint256 disputeId, uint64 localStep, StepClaim calldata before, StepClaim calldata next_)
        external
    {
        Dispute storage d = _inPhase(disputeId, Phase.Pinpointing);
        if (msg.sender != d.challenger) revert DisputeManagerNotChallenger(disputeId, msg.sender);
        uint256 deadline = pinpointDeadline(disputeId);
        if (block.timestamp > deadline) revert DisputeManagerDeadlinePassed(disputeId, deadline);
        uint64 globalStep = DisputeEvidence.checkPinpoint(
            dataAvailability, jobMarket, d, stepJudged[d.jobId], disputeId, localStep, before, next_
        );
        d.step = globalStep;
        if (d.pinpoints > 0) {
            ++d.round;
            d.roundBase = d.round;
            d.failedRounds = 0;
        }
        ++d.pinpoints;
        _awaitDraw(d);
        emit StepPinpointed(disputeId, globalStep, before.stateHash, next_.stateHash, d.randomnessBlock);
    }

    /// @inheritdoc IDisputeManager
    function timeoutPinpoint(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Pinpointing);
        // A dispute made moot by a conviction is closed with its bond refunded (`closeMoot`), never forfeited.
        _liveJob(disputeId, d);
        uint256 deadline = pinpointDeadline(disputeId);
        if (block.timestamp <= deadline) revert DisputeManagerDeadlineNotPassed(disputeId, deadline);
        (uint256 open,) = _activity(disputeId);
        if (open != 0) revert DisputeManagerChallengesOpen(disputeId, open);
        if (d.pinpoints > 0) {
            _refundBond(d);
            _close(disputeId, d, Ruling.Indeterminate);
            return;
        }
        uint256 bond = d.bond;
        d.bond = 0;
        uint256 toWorker = DisputeEvidence.checkpointAnswerFee(address(dataAvailability), d.checkpointDemand, bond);
        emit BondForfeited(disputeId, toWorker, 0, bond - toWorker);
        _credit(_jobWorker(d.jobId), toWorker);
        _burn(bond - toWorker);
        _close(disputeId, d, Ruling.ChallengerTimedOut);
    }

    /// @inheritdoc IDisputeManager
    function pinpointDeadline(uint256 disputeId) public view returns (uint256) {
        Dispute storage d = _disputes[disputeId];
        (, uint64 lastAnswerAt) = _activity(disputeId);
        uint256 extended = lastAnswerAt == 0 ? 0 : lastAnswerAt + _pinpointTimeout(d.jobId);
        return extended > d.deadline ? extended : d.deadline;
    }

    // ------------------------------------------------------------------ boundary mismatch

    /// @inheritdoc IDisputeManager
    function proveBoundaryMismatch(uint256 disputeId, bool atEnd, bytes32 stateHash, bytes32[] calldata stepProof)
        external
        nonReentrant
    {
        Dispute storage d = _disputes[disputeId];
        _liveJob(disputeId, d);
        bytes32 checkpointStateHash =
            DisputeEvidence.checkBoundary(dataAvailability, jobMarket, d, disputeId, atEnd, stateHash, stepProof);
        emit BoundaryMismatchProven(disputeId, atEnd, checkpointStateHash, stateHash);
        _convict(d.jobId, disputeId, address(0));
    }

    // ------------------------------------------------------------------ availability hook

    /// @inheritdoc IDisputeManager
    /// @dev The worker is convicted; the dispute the challenge belonged to closes WorkerFault; the
    /// opener earns at most `openerFee` of the bounty (V4.1). Requirements: the DataAvailability.
    function onUnavailable(uint256 jobId, uint256 disputeId, address opener) external nonReentrant {
        if (msg.sender != address(dataAvailability)) revert DisputeManagerNotDataAvailability(msg.sender);
        _convict(jobId, disputeId, opener);
    }

    // ------------------------------------------------------------------ committee (§7.4, §10.7)

    /// @inheritdoc IDisputeManager
    function drawCommittee(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.AwaitingDraw);
        _liveJob(disputeId, d);
        uint8 round = d.round;
        DisputeJury.DrawContext memory ctx = DisputeJury.DrawContext(
            stakeManager, randomness, _jobWorker(d.jobId), jurorLockId(disputeId, round), disputeId, _revealTimeout(d.jobId)
        );
        if (!DisputeJury.drawRound(ctx, d, _params, _rounds[disputeId][round], _votes[disputeId][round])) return;
        if (d.appeals > d.appealsSettled) {
            // An appeal nobody can be drawn for cannot erase the ruling it contested (V6.1).
            _keepAppealedRuling(disputeId, d);
            return;
        }
        _refundBond(d);
        _settleAppealsAndPot(disputeId, d, Ruling.Void, 0);
        _refundInterval(d);
        _voidAndClose(disputeId, d);
    }

    /// @inheritdoc IDisputeManager
    function commitVote(uint256 disputeId, bytes32 commitment) external {
        Dispute storage d = _inPhase(disputeId, Phase.Voting);
        // Answered juror challenges only extend the drawn window: inside it, no need to read them (issue 17).
        if (block.timestamp > d.commitEnd) {
            (uint256 commitEnd,) = votingWindows(disputeId);
            if (block.timestamp > commitEnd) revert DisputeManagerDeadlinePassed(disputeId, commitEnd);
        }
        uint8 round = d.round;
        RoundInfo storage r = _rounds[disputeId][round];
        // A juror canary's truth is public once revealed: no vote may be committed after it (V10.1).
        if (r.truth != Ruling.None) revert DisputeManagerCanaryTruthKnown(disputeId);
        DisputeJury.commitVote(r, _votes[disputeId][round][msg.sender], disputeId, round, commitment);
    }

    /// @inheritdoc IDisputeManager
    function revealVote(uint256 disputeId, uint8 vote, bytes32 salt) external {
        Dispute storage d = _inPhase(disputeId, Phase.Voting);
        uint8 round = d.round;
        RoundInfo storage r = _rounds[disputeId][round];
        // Every seat committed and inside the drawn reveal window: open whatever the extensions (issue 17).
        if (r.commits < r.seats || block.timestamp > d.revealEnd) {
            uint256 revealEnd = _requireVotesBound(disputeId, r);
            if (block.timestamp > revealEnd) revert DisputeManagerDeadlinePassed(disputeId, revealEnd);
        }
        DisputeJury.revealVote(r, _votes[disputeId][round][msg.sender], disputeId, round, vote, salt);
    }

    /// @inheritdoc IDisputeManager
    function revealCanaryTruth(uint256 disputeId, uint256[] calldata faultSteps, bytes32 salt, bytes32[] calldata proof)
        external
    {
        Dispute storage d = _inPhase(disputeId, Phase.Voting);
        RoundInfo storage r = _rounds[disputeId][d.round];
        _requireVotesBound(disputeId, r);
        DisputeLogic.recordCanaryTruth(r, d, jobMarket, disputeId, faultSteps, salt, proof);
    }

    /// @dev Reverts unless the round's votes are bound: the commit window is over or every seat
    /// committed (commits count seats). Returns the reveal end.
    function _requireVotesBound(uint256 disputeId, RoundInfo storage r) private view returns (uint256 revealEnd) {
        uint256 commitEnd;
        (commitEnd, revealEnd) = votingWindows(disputeId);
        if (block.timestamp <= commitEnd && r.commits < r.seats) revert DisputeManagerRevealNotOpen(disputeId);
    }

    /// @inheritdoc IDisputeManager
    function votingWindows(uint256 disputeId) public view returns (uint256 commitEnd, uint256 revealEnd) {
        Dispute storage d = _disputes[disputeId];
        commitEnd = d.commitEnd;
        (, uint64 lastAnswerAt) = _activity(disputeId);
        uint256 extended = uint256(lastAnswerAt) + _revealTimeout(d.jobId);
        if (extended > commitEnd) commitEnd = extended;
        revealEnd = commitEnd + (d.revealEnd - d.commitEnd);
    }

    /// @inheritdoc IDisputeManager
    function resolve(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Voting);
        // Jurors of a dispute made moot by a conviction are released without penalty (`closeMoot`).
        _liveJob(disputeId, d);
        uint8 round = d.round;
        RoundInfo storage r = _rounds[disputeId][round];
        // Every seat revealed: over whatever the windows say, so they are not read (issue 17).
        if (r.reveals < r.seats) {
            (, uint256 revealEnd) = votingWindows(disputeId);
            if (block.timestamp <= revealEnd) revert DisputeManagerVotingNotOver(disputeId, uint64(revealEnd));
        }
        (uint256 open,) = _activity(disputeId);
        if (open != 0) revert DisputeManagerChallengesOpen(disputeId, open);
        DisputeJury.RoundOutcome outcome = DisputeJury.resolveRound(
            stakeManager, d, _params, r, _votes[disputeId][round], jurorLockId(disputeId, round), disputeId
        );
        if (outcome == DisputeJury.RoundOutcome.NextRound) {
            _nextRound(d);
        } else if (outcome == DisputeJury.RoundOutcome.KeepRuling) {
            // An appeal that cannot reach quorum cannot erase the ruling it contested (V6.1).
            _keepAppealedRuling(disputeId, d);
        } else if (outcome == DisputeJury.RoundOutcome.Void) {
            _refundBond(d);
            _settleAppealsAndPot(disputeId, d, Ruling.Void, 0);
            _voidAndClose(disputeId, d);
        }
    }

    /// @inheritdoc IDisputeManager
    function appeal(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Ruled);
        if (block.timestamp > d.appealEnd) revert DisputeManagerDeadlinePassed(disputeId, d.appealEnd);
        Params storage p = _params;
        if (d.appeals - d.appealsSettled >= p.maxAppeals) revert DisputeManagerMaxAppealsReached(disputeId);
        _appeals[disputeId][d.appeals++] = Appeal(msg.sender, d.ruling, p.appealBond);
        _nextRound(d);
        emit Appealed(disputeId, msg.sender, d.round, p.appealBond);
        _pull(p.appealBond);
    }

    /// @inheritdoc IDisputeManager
    function finalizeRuling(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Ruled);
        if (block.timestamp <= d.appealEnd) revert DisputeManagerDeadlineNotPassed(disputeId, d.appealEnd);
        Ruling ruling = d.ruling;
        _liveJob(disputeId, d);
        if (ruling == Ruling.WorkerFault) {
            _convict(d.jobId, disputeId, address(0));
            return;
        }
        if (ruling == Ruling.WorkerHonest) {
            stepJudged[d.jobId][d.step] = true;
            _settleAppealsAndPot(disputeId, d, ruling, _forfeitBond(disputeId, d));
            _close(disputeId, d, ruling);
            return;
        }
        _settleAppealsAndPot(disputeId, d, ruling, 0);
        if (d.pinpoints < MAX_PINPOINTS) {
            d.phase = Phase.Pinpointing;
            d.deadline = uint64(block.timestamp + _pinpointTimeout(d.jobId));
            emit PinpointReopened(disputeId, d.pinpoints, d.deadline);
            return;
        }
        _refundBond(d);
        _refundInterval(d);
        _close(disputeId, d, Ruling.Unresolved);
    }

    /// @inheritdoc IDisputeManager
    function closeMoot(uint256 disputeId) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.phase == Phase.None || d.phase == Phase.Closed) revert DisputeManagerWrongPhase(disputeId, d.phase);
        if (_jobStatus(d.jobId) == IJobMarket.JobStatus.Submitted) revert DisputeManagerJobStillActive(d.jobId);
        _releaseRunningRound(disputeId, d);
        _settleAppealsAndPot(disputeId, d, Ruling.Moot, 0);
        _refundBond(d);
        _close(disputeId, d, Ruling.Moot);
    }

    /// @inheritdoc IDisputeManager
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert DisputeManagerNothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        stakingToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDisputeManager
    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc IDisputeManager
    function getRound(uint256 disputeId, uint256 round) external view returns (RoundInfo memory) {
        return _rounds[disputeId][round];
    }

    /// @inheritdoc IDisputeManager
    function getVote(uint256 disputeId, uint256 round, address juror) external view returns (Vote memory) {
        return _votes[disputeId][round][juror];
    }

    /// @inheritdoc IDisputeManager
    function getAppeal(uint256 disputeId, uint256 index) external view returns (Appeal memory) {
        return _appeals[disputeId][index];
    }

    /// @inheritdoc IDisputeManager
    function commitmentCount() external view returns (uint64) {
        return _ledger.count;
    }

    /// @inheritdoc IDisputeManager
    function commitBondsHeld() external view returns (uint256) {
        return _ledger.bondsHeld;
    }

    /// @inheritdoc IDisputeManager
    function getCommitment(bytes32 commitment) external view returns (ChallengeCommitment memory) {
        return _commitments[commitment];
    }

    /// @inheritdoc IDisputeManager
    function jurorLockId(uint256 disputeId, uint256 round) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), disputeId, round));
    }

    /// @inheritdoc IDisputeManager
    function isChallengeParty(uint256 jobId, uint256 disputeId, address account) external view returns (bool) {
        Dispute storage d = _disputes[disputeId];
        if (d.jobId != jobId || d.phase == Phase.None || d.phase == Phase.Closed) return false;
        return account == d.challenger || (d.phase == Phase.Voting && _votes[disputeId][d.round][account].seats != 0);
    }

    /// @inheritdoc IDisputeManager
    function bountyDispute(uint256 jobId) public view returns (uint256 disputeId) {
        disputeId = _queues[jobId].head;
        for (uint256 i = 0; disputeId != 0 && i < DisputeQueue.MAX_SKIPS; ++i) {
            if (!_missedDeadline(disputeId)) return disputeId;
            disputeId = _disputes[disputeId].next;
        }
        return 0;
    }

    /// @inheritdoc IDisputeManager
    function liveDisputes(uint256 jobId) external view returns (uint256) {
        return _queues[jobId].size;
    }

    /// @inheritdoc IDisputeManager
    function reopenHold(uint256 jobId) external view returns (uint64) {
        return _reopenHold[jobId];
    }

    /// @inheritdoc IDisputeManager
    function checkJobTerms(uint256 collateral, uint256 challengeWindow, uint256 answerTimeout, uint256 pinpointTimeout)
        external
        view
    {
        DisputeLogic.checkJobTerms(_params, collateral, challengeWindow, answerTimeout, pinpointTimeout);
    }

    // ------------------------------------------------------------------ internals

    function _inPhase(uint256 disputeId, Phase phase) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.phase != phase) revert DisputeManagerWrongPhase(disputeId, d.phase);
    }

    function _liveJob(uint256 disputeId, Dispute storage d) private view {
        if (d.phase == Phase.None || d.phase == Phase.Closed) revert DisputeManagerWrongPhase(disputeId, d.phase);
        if (_jobStatus(d.jobId) != IJobMarket.JobStatus.Submitted) revert DisputeManagerJobNotActive(d.jobId);
    }

    /// @dev A live dispute that let its pinpoint deadline pass with none of its challenges open.
    function _missedDeadline(uint256 disputeId) private view returns (bool) {
        if (_disputes[disputeId].phase != Phase.Pinpointing || block.timestamp <= pinpointDeadline(disputeId)) return false;
        (uint256 open,) = _activity(disputeId);
        return open == 0;
    }

    /// @dev One call site for the job's status slot (keeps this near-limit contract small).
    function _jobState(uint256 jobId) private view returns (IJobMarket.JobStatus, address, uint64, uint64) {
        return jobMarket.jobState(jobId);
    }

    function _jobStatus(uint256 jobId) private view returns (IJobMarket.JobStatus status) {
        (status,,,) = _jobState(jobId);
    }

    function _jobWorker(uint256 jobId) private view returns (address worker) {
        (, worker,,) = _jobState(jobId);
    }

    function _pinpointTimeout(uint256 jobId) private view returns (uint256) {
        return jobMarket.pinpointTimeout(jobId);
    }

    function _revealTimeout(uint256 jobId) private view returns (uint64) {
        return uint64(jobMarket.revealTimeout(jobId)); // ≤ MAX_TIMEOUT
    }

    function _activity(uint256 disputeId) private view returns (uint256 open, uint64 lastAnswerAt) {
        return dataAvailability.disputeActivity(disputeId);
    }

    function _reopenDeadline(Dispute storage v, uint64 windowEnd) private view returns (uint256) {
        Params storage p = _params;
        if (uint256(v.committedAt) + p.commitTTL < windowEnd) return windowEnd;
        return uint256(windowEnd) + p.maxExtension;
    }

    /// @dev The appealed ruling stands and can be executed at once; the appeal bond goes to the pot.
    function _keepAppealedRuling(uint256 disputeId, Dispute storage d) private {
        d.phase = Phase.Ruled;
        d.appealEnd = uint64(block.timestamp);
        emit RulingGiven(disputeId, d.decidingRound, d.ruling, d.appealEnd);
    }

    function _awaitDraw(Dispute storage d) private {
        d.phase = Phase.AwaitingDraw;
        DisputeJury.schedule(stakeManager, randomness, d, _params.randomnessDelay);
        d.drawSince = uint64(block.timestamp);
    }

    function _nextRound(Dispute storage d) private {
        ++d.round;
        _awaitDraw(d);
    }

    /// @dev A conviction or moot close while a committee is voting releases it without penalty.
    function _releaseRunningRound(uint256 disputeId, Dispute storage d) private {
        if (d.phase == Phase.Voting) {
            DisputeJury.release(stakeManager, _rounds[disputeId][d.round].jurors, jurorLockId(disputeId, d.round));
        }
    }

    /// @dev Appeal bonds not yet settled: refunded when the final outcome differs from the ruling
    /// appealed (or there is no ruling: void, moot), else added to the pot. Then `extra` plus the pot
    /// go to the jurors coherent with `finalRuling` in the deciding round, or are burned when none.
    function _settleAppealsAndPot(uint256 disputeId, Dispute storage d, Ruling finalRuling, uint256 extra) private {
        _burn(
            DisputeJury.settleAppealsAndPot(
                d, _appeals[disputeId], _rounds[disputeId], _votes[disputeId], credits, finalRuling, extra
            )
        );
    }

    /// @dev Worker at fault: the JobMarket rejects the job and slashes the collateral here. The
    /// bounty goes to the earliest-ordered live dispute that missed no deadline (V2.4), else to the
    /// convicting dispute's challenger, else to `opener`; an availability challenge's opener gets at
    /// most `openerFee` of it (V4.1). The convicting dispute closes; the job's others become moot.
    function _convict(uint256 jobId, uint256 disputeId, address opener) private {
        address beneficiary;
        {
            uint256 first = bountyDispute(jobId);
            if (first != 0) beneficiary = _disputes[first].challenger;
            else if (disputeId != 0) beneficiary = _disputes[disputeId].challenger;
            else beneficiary = opener;
        }
        (address requester,) = jobMarket.jobParties(jobId);
        // Trusted JobMarket: transfers the slashed collateral to this contract. The convicted interval
        // (V11.2) is the convicting dispute's; an auditor's availability challenge without a dispute
        // names none.
        uint256 slashed = jobMarket.onWorkerConvicted(
            jobId, address(this), disputeId != 0 ? _disputes[disputeId].interval : type(uint256).max
        );
        Params storage p = _params;
        (uint256 toChallenger, uint256 toJurors, uint256 toRequester, uint256 burned) =
            DisputeLogic.splitSlash(slashed, p.challengerBps, p.jurorBps, p.requesterBps);
        emit WorkerConvicted(jobId, disputeId, beneficiary, slashed, toChallenger, toJurors, toRequester, burned);
        if (opener != address(0) && opener != beneficiary) {
            uint256 fee = DisputeEvidence.openerFee(address(dataAvailability), toChallenger);
            toChallenger -= fee;
            _credit(opener, fee);
        }
        _credit(beneficiary, toChallenger);
        _credit(requester, toRequester);
        _burn(burned);
        Dispute storage d = _disputes[disputeId];
        if (disputeId != 0 && d.phase != Phase.Closed) {
            _releaseRunningRound(disputeId, d);
            _settleAppealsAndPot(disputeId, d, Ruling.WorkerFault, toJurors);
            _refundBond(d);
            _close(disputeId, d, Ruling.WorkerFault);
        } else {
            _burn(toJurors);
        }
    }

    /// @dev A bond lost on a ruling: `replayCost` to the worker, the rest split jurors / burn.
    /// Returns the jurors' share.
    function _forfeitBond(uint256 disputeId, Dispute storage d) private returns (uint256 toJurors) {
        Params storage p = _params;
        uint256 bond = d.bond;
        uint256 toWorker = p.replayCost < bond ? p.replayCost : bond;
        uint256 rest = bond - toWorker;
        toJurors = (rest * p.bondJurorBps) / BPS;
        uint256 burned = rest - toJurors;
        d.bond = 0;
        emit BondForfeited(disputeId, toWorker, toJurors, burned);
        _credit(_jobWorker(d.jobId), toWorker);
        _burn(burned);
    }

    function _refundBond(Dispute storage d) private {
        uint256 bond = d.bond;
        d.bond = 0;
        _credit(d.challenger, bond);
    }

    /// @dev V5.2 / V9.3: the disputed interval's share of the reward goes back to the requester, once.
    function _refundInterval(Dispute storage d) private {
        if (intervalRefunded[d.jobId][d.interval]) return;
        intervalRefunded[d.jobId][d.interval] = true;
        jobMarket.onIntervalRefunded(d.jobId);
    }

    /// @dev Void: closes the dispute and holds finalization while its challenger may still reopen.
    function _voidAndClose(uint256 disputeId, Dispute storage d) private {
        if (!d.reopened) {
            (,, uint64 windowEnd,) = _jobState(d.jobId);
            uint256 until = _reopenDeadline(d, windowEnd);
            if (until > _reopenHold[d.jobId]) _reopenHold[d.jobId] = uint64(until);
        }
        _close(disputeId, d, Ruling.Void);
    }

    function _close(uint256 disputeId, Dispute storage d, Ruling ruling) private {
        uint256 jobId = d.jobId;
        d.phase = Phase.Closed;
        d.ruling = ruling;
        delete disputeOf[jobId][d.interval][d.challenger];
        DisputeQueue.remove(_queues[jobId], _disputes, disputeId);
        emit DisputeClosed(disputeId, jobId, ruling);
        jobMarket.onDisputeClosed(jobId);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        credits[account] += amount;
        emit Credited(account, amount);
    }

    function _pull(uint256 amount) private {
        stakingToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _burn(uint256 amount) private {
        if (amount > 0) stakingToken.safeTransfer(BURN_ADDRESS, amount);
    }
}
