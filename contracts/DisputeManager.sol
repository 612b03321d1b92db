// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IDisputeManager} from "./interfaces/IDisputeManager.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IRandomness} from "./interfaces/IRandomness.sol";
import {DisputeLogic} from "./lib/DisputeLogic.sol";
import {DisputeJury} from "./lib/DisputeJury.sol";

/// @title DisputeManager
/// @notice Interval disputes (§7.2, §10.5), pinpointing to one step (§7.3), on-chain chunk
/// challenges for data availability (§10.6), stake-weighted juror committees with commit-reveal,
/// escalation and appeals (§7.4, §7.5, §10.7), and the money of every outcome (§7.6).
/// @dev Holds MODULE_ROLE on the StakeManager and DISPUTE_ROLE on the JobMarket. There is no pause:
/// dispute resolution never stops. Every deadline has a permissionless function that moves on.
/// All payouts are pull credits in the staking token (`withdraw`); burns go to `BURN_ADDRESS`.
contract DisputeManager is IDisputeManager, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    /// @dev Upper bound of the reveal and appeal windows.
    uint256 public constant MAX_TIMEOUT = 30 days;

    IStakeManager public immutable stakeManager;
    IJobMarket public immutable jobMarket;
    IRandomness public immutable randomness;
    IERC20 public immutable stakingToken;

    Params private _params;

    uint256 public disputeCount;
    uint256 public chunkChallengeCount;

    mapping(bytes32 commitment => uint256 blockNumber) public commitments;
    mapping(uint256 disputeId => Dispute) private _disputes;
    mapping(uint256 disputeId => mapping(uint256 round => RoundInfo)) private _rounds;
    mapping(uint256 disputeId => mapping(uint256 round => mapping(address juror => Vote))) private _votes;
    mapping(uint256 disputeId => mapping(uint256 index => Appeal)) private _appeals;
    mapping(uint256 challengeId => ChunkChallenge) private _chunks;
    mapping(uint256 jobId => mapping(uint64 interval => uint256 disputeId)) public activeDispute;
    mapping(uint256 jobId => uint256 count) public openChunkChallenges;
    mapping(uint256 jobId => mapping(uint64 globalStep => bool)) public stepJudged;
    mapping(address account => uint256 amount) public credits;

    constructor(IStakeManager stakeManager_, IJobMarket jobMarket_, IRandomness randomness_, address admin, Params memory params_) {
        stakeManager = stakeManager_;
        jobMarket = jobMarket_;
        randomness = randomness_;
        stakingToken = stakeManager_.stakingToken();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        DisputeLogic.storeParams(_params, params_, MAX_TIMEOUT);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Replaces all parameters at once.
    /// @dev Emits {ParamsUpdated}. Requirements: GOVERNOR_ROLE; every value within its bounds
    /// (see `DisputeLogic.firstInvalidParam`), else {DisputeManagerInvalidParam} with the field's index.
    function setParams(Params calldata params_) external onlyRole(GOVERNOR_ROLE) {
        DisputeLogic.storeParams(_params, params_, MAX_TIMEOUT);
    }

    /// @notice The current parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    // ------------------------------------------------------------------ opening

    /// @notice Commits to disputing `(jobId, interval)` without revealing it (§10.5).
    /// `commitment = keccak256(abi.encode(jobId, interval, challenger, salt))`.
    /// @dev Emits {ChallengeCommitted}. Requirements: the commitment is new.
    function commitChallenge(bytes32 commitment) external {
        if (commitments[commitment] != 0) revert DisputeManagerCommitmentExists(commitment);
        commitments[commitment] = block.number;
        emit ChallengeCommitted(commitment, msg.sender, block.number);
    }

    /// @notice Opens a dispute on interval `interval` of a submitted job, taking `disputeBond`.
    /// @dev Emits {DisputeOpened}, and {DisputeSuperseded} + {DisputeClosed} + {Credited} when this
    /// commitment is older than the active, not yet pinpointed dispute of the interval.
    /// Requirements: a commitment of the caller at least one block old; the job Submitted and its
    /// window open; `interval < n-1`; checkpoint leaves `interval` and `interval+1` proven against the
    /// job's checkpoint root; the interval free, or held by a later, unpinpointed commitment.
    /// `checkpoint` is leaf `interval` (state hash, step root, proof), `checkpointNext` leaf `interval+1`.
    function openDispute(
        uint256 jobId,
        uint64 interval,
        bytes32 salt,
        CheckpointProof calldata checkpoint,
        CheckpointProof calldata checkpointNext
    ) external nonReentrant returns (uint256 disputeId) {
        uint256 commitBlock = _consumeCommitment(keccak256(abi.encode(jobId, interval, msg.sender, salt)));
        uint64 pinpointTimeout = _checkCheckpoints(jobId, interval, checkpoint, checkpointNext);
        disputeId = _createDispute(jobId, interval, commitBlock, checkpoint.stepRoot, pinpointTimeout);
        Dispute storage d = _disputes[disputeId];
        d.startStateHash = checkpoint.stateHash;
        d.endStateHash = checkpointNext.stateHash;
    }

    function _consumeCommitment(bytes32 commitment) private returns (uint256 commitBlock) {
        commitBlock = commitments[commitment];
        if (commitBlock == 0) revert DisputeManagerCommitmentNotFound(commitment);
        if (commitBlock >= block.number) revert DisputeManagerCommitmentTooRecent(commitment, commitBlock);
        delete commitments[commitment];
    }

    /// @dev Checks the job is disputable and both checkpoint leaves; returns the pinpoint timeout.
    function _checkCheckpoints(
        uint256 jobId,
        uint64 interval,
        CheckpointProof calldata checkpoint,
        CheckpointProof calldata checkpointNext
    ) private view returns (uint64 pinpointTimeout) {
        IJobMarket.Job memory job = jobMarket.getJob(jobId);
        if (job.status != IJobMarket.JobStatus.Submitted || block.timestamp > job.windowEnd) {
            revert DisputeManagerJobNotDisputable(jobId);
        }
        uint256 n = uint256(job.totalSteps) / job.checkpointInterval + 1;
        if (uint256(interval) + 1 >= n) revert DisputeManagerInvalidInterval(jobId, interval);
        if (!DisputeLogic.verifyCheckpoints(job.checkpointRoot, n, interval, checkpoint, checkpointNext)) {
            revert DisputeManagerInvalidProof();
        }
        // The challenger may first need chunk challenges answered (§10.6), so it gets both timeouts.
        pinpointTimeout = uint64(jobMarket.pinpointTimeout(jobId) + jobMarket.answerTimeout(jobId));
    }

    function _createDispute(uint256 jobId, uint64 interval, uint256 commitBlock, bytes32 stepRoot, uint64 pinpointTimeout)
        private
        returns (uint256 disputeId)
    {
        disputeId = ++disputeCount;
        uint256 activeId = activeDispute[jobId][interval];
        if (activeId != 0) {
            Dispute storage active = _disputes[activeId];
            if (commitBlock >= active.commitBlock || active.phase != Phase.Pinpointing) {
                revert DisputeManagerIntervalDisputed(jobId, interval, activeId);
            }
            emit DisputeSuperseded(activeId, disputeId);
            _refundAndClose(activeId, Ruling.Superseded);
        }
        uint256 bond = _params.disputeBond;
        Dispute storage d = _disputes[disputeId];
        d.jobId = jobId;
        d.challenger = msg.sender;
        d.interval = interval;
        d.commitBlock = uint64(commitBlock);
        d.phase = Phase.Pinpointing;
        d.deadline = uint64(block.timestamp) + pinpointTimeout;
        d.bond = bond;
        d.stepRoot = stepRoot;
        activeDispute[jobId][interval] = disputeId;

        emit DisputeOpened(disputeId, jobId, interval, msg.sender, bond, d.deadline);
        stakingToken.safeTransferFrom(msg.sender, address(this), bond);
        // A superseding dispute takes over the open-dispute slot of the one it replaced.
        if (activeId == 0) jobMarket.onDisputeOpened(jobId);
    }

    // ------------------------------------------------------------------ pinpointing

    /// @notice Names the disputed step: the worker's states before and after local step `localStep`
    /// of the interval, proven against the interval's step root (§7.3). Starts the randomness delay.
    /// @dev Emits {StepPinpointed}. Requirements: the challenger; phase Pinpointing before the
    /// deadline; `localStep < k`; both step leaves proven; the global step not judged before.
    function pinpoint(
        uint256 disputeId,
        uint64 localStep,
        bytes32 stateHash,
        bytes32[] calldata proof,
        bytes32 stateHashNext,
        bytes32[] calldata proofNext
    ) external {
        Dispute storage d = _inPhase(disputeId, Phase.Pinpointing);
        if (msg.sender != d.challenger) revert DisputeManagerNotChallenger(disputeId, msg.sender);
        if (block.timestamp > d.deadline) revert DisputeManagerDeadlinePassed(disputeId, d.deadline);
        uint64 k = jobMarket.getJob(d.jobId).checkpointInterval;
        if (localStep >= k) revert DisputeManagerInvalidStep(disputeId, localStep);
        uint64 globalStep = d.interval * k + localStep;
        if (stepJudged[d.jobId][globalStep]) revert DisputeManagerStepAlreadyJudged(d.jobId, globalStep);
        if (
            !DisputeLogic.verifyStep(d.stepRoot, k, d.interval, localStep, stateHash, proof)
                || !DisputeLogic.verifyStep(d.stepRoot, k, d.interval, localStep + 1, stateHashNext, proofNext)
        ) revert DisputeManagerInvalidProof();

        d.step = globalStep;
        d.phase = Phase.AwaitingDraw;
        d.randomnessBlock = uint64(block.number) + _params.randomnessDelay;
        emit StepPinpointed(disputeId, globalStep, stateHash, stateHashNext, d.randomnessBlock);
    }

    /// @notice Closes a dispute whose challenger named no step in time; the bond is forfeited.
    /// @dev Emits {BondForfeited}, {Credited}, {DisputeClosed}. Requirements: phase Pinpointing, the
    /// deadline passed, no chunk challenge open on the job.
    function timeoutPinpoint(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Pinpointing);
        if (block.timestamp <= d.deadline) revert DisputeManagerDeadlineNotPassed(disputeId, d.deadline);
        _forfeitBond(disputeId, d, false);
        _closeWithoutConviction(disputeId, d, Ruling.ChallengerTimedOut);
    }

    // ------------------------------------------------------------------ boundary mismatch

    /// @notice Convicts a worker whose step tree of the disputed interval disagrees with its own
    /// checkpoints: step leaf 0 (`atEnd` false) or step leaf k (`atEnd` true) of `stepRoot_i` holds a
    /// state hash other than checkpoint `i` (or `i+1`). No single-step replay can catch this, so it
    /// is proven directly. Permissionless; the dispute's challenger is the beneficiary.
    /// @dev Emits {BoundaryMismatchProven} and the conviction events (see `finalizeRuling`).
    /// Requirements: the dispute not closed, the job Submitted; `stateHash` proven as step leaf 0
    /// (or k) of the interval's step root, else {DisputeManagerInvalidProof}; `stateHash` differs
    /// from the checkpoint's state hash, else {DisputeManagerBoundaryConsistent}.
    function proveBoundaryMismatch(uint256 disputeId, bool atEnd, bytes32 stateHash, bytes32[] calldata stepProof)
        external
        nonReentrant
    {
        Dispute storage d = _disputes[disputeId];
        uint64 k = _liveJob(disputeId, d).checkpointInterval;
        if (!DisputeLogic.verifyStep(d.stepRoot, k, d.interval, atEnd ? k : 0, stateHash, stepProof)) {
            revert DisputeManagerInvalidProof();
        }
        bytes32 checkpointStateHash = atEnd ? d.endStateHash : d.startStateHash;
        if (stateHash == checkpointStateHash) revert DisputeManagerBoundaryConsistent(disputeId, atEnd);
        emit BoundaryMismatchProven(disputeId, atEnd, checkpointStateHash, stateHash);
        _convict(disputeId, d, d.challenger, true);
    }

    // ------------------------------------------------------------------ chunk challenges (§10.6)

    /// @notice Challenges the worker to publish chunk `chunkIndex` of state `leafIndex` of the
    /// disputed interval, taking `chunkBond`.
    /// @dev Emits {ChunkChallenged}. Requirements: the dispute not closed, the job Submitted;
    /// `stateHash` proven as step leaf `leafIndex` of the interval's step root.
    function challengeChunk(
        uint256 disputeId,
        uint64 leafIndex,
        bytes32 stateHash,
        bytes32[] calldata stepProof,
        uint64 chunkIndex
    ) external nonReentrant returns (uint256 challengeId) {
        Dispute storage d = _disputes[disputeId];
        IJobMarket.Job memory job = _liveJob(disputeId, d);
        if (!DisputeLogic.verifyStep(d.stepRoot, job.checkpointInterval, d.interval, leafIndex, stateHash, stepProof)) {
            revert DisputeManagerInvalidProof();
        }
        return _openChunk(disputeId, stateHash, chunkIndex, false);
    }

    /// @notice Challenges the worker to publish chunk `chunkIndex` of batch `batchIndex` of the
    /// job's data tree, taking `chunkBond`.
    /// @dev Emits {ChunkChallenged}. Requirements: the dispute not closed, the job Submitted;
    /// `batchHash` proven as leaf `batchIndex` of the job's data root.
    function challengeBatchChunk(
        uint256 disputeId,
        uint64 batchIndex,
        bytes32 batchHash,
        bytes32[] calldata dataProof,
        uint64 chunkIndex
    ) external nonReentrant returns (uint256 challengeId) {
        Dispute storage d = _disputes[disputeId];
        IJobMarket.Job memory job = _liveJob(disputeId, d);
        if (!DisputeLogic.verifyBatch(job.dataRoot, job.numBatches, batchIndex, batchHash, dataProof)) {
            revert DisputeManagerInvalidProof();
        }
        return _openChunk(disputeId, batchHash, chunkIndex, true);
    }

    /// @notice Answers a chunk challenge with the chunk and its proof against the file hash; the
    /// bond is credited to the answerer as gas compensation. Anyone holding the data may answer.
    /// @dev Emits {ChunkAnswered}, {Credited}. Requirements: the challenge open and not expired; the
    /// chunk has the right length for its index and `fileHash(byteLength, root) == fileHash`.
    /// A challenge naming a chunk past the end of the file is answered with the file's last chunk.
    function answerChunk(uint256 challengeId, uint64 byteLength, bytes calldata chunk, bytes32[] calldata proof) external {
        ChunkChallenge storage c = _chunks[challengeId];
        if (c.status != ChunkStatus.Open) revert DisputeManagerChunkNotOpen(challengeId);
        if (block.timestamp > c.deadline) revert DisputeManagerDeadlinePassed(c.disputeId, c.deadline);
        if (!DisputeLogic.checkChunk(c.fileHash, c.chunkIndex, byteLength, chunk, proof)) {
            revert DisputeManagerInvalidChunk(challengeId);
        }
        c.status = ChunkStatus.Answered;
        --openChunkChallenges[_disputes[c.disputeId].jobId];
        emit ChunkAnswered(challengeId, msg.sender, byteLength, c.chunkIndex);
        _credit(msg.sender, c.bond);
    }

    /// @notice Settles an unanswered chunk challenge after its deadline: the worker is convicted
    /// (data unavailable, §10.6) with the chunk challenger as beneficiary. If the job was already
    /// convicted the bond is simply refunded.
    /// @dev Emits {ChunkChallengeExpired} and the conviction events (see `finalizeRuling`).
    /// Requirements: the challenge open and its deadline passed.
    function timeoutChunk(uint256 challengeId) external nonReentrant {
        ChunkChallenge storage c = _chunks[challengeId];
        if (c.status != ChunkStatus.Open) revert DisputeManagerChunkNotOpen(challengeId);
        if (block.timestamp <= c.deadline) revert DisputeManagerDeadlineNotPassed(c.disputeId, c.deadline);
        uint256 disputeId = c.disputeId;
        Dispute storage d = _disputes[disputeId];
        --openChunkChallenges[d.jobId];
        _credit(c.challenger, c.bond);
        if (jobMarket.getJob(d.jobId).status != IJobMarket.JobStatus.Submitted) {
            c.status = ChunkStatus.Refunded;
            emit ChunkChallengeExpired(challengeId, false);
            return;
        }
        c.status = ChunkStatus.TimedOut;
        emit ChunkChallengeExpired(challengeId, true);
        // The dispute the challenge belongs to may be superseded (closed); then no committee shares.
        _convict(disputeId, d, c.challenger, d.phase != Phase.Closed);
    }

    // ------------------------------------------------------------------ committee (§7.4, §10.7)

    /// @notice Draws the round's committee once the randomness block is mined; re-targets the
    /// randomness block when it expired unread.
    /// @dev Emits {CommitteeDrawn} or {RandomnessRetargeted}. Requirements: phase AwaitingDraw; the
    /// randomness available (or expired).
    function drawCommittee(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.AwaitingDraw);
        Params storage p = _params;
        if (randomness.isExpired(d.randomnessBlock)) {
            d.randomnessBlock = uint64(block.number) + p.randomnessDelay;
            emit RandomnessRetargeted(disputeId, d.randomnessBlock);
            return;
        }
        if (!randomness.isAvailable(d.randomnessBlock)) {
            revert DisputeManagerRandomnessNotReady(disputeId, d.randomnessBlock);
        }
        uint8 round = d.round;
        uint256 jobId = d.jobId;
        DisputeJury.draw(
            stakeManager,
            d,
            p,
            _rounds[disputeId][round],
            _votes[disputeId][round],
            keccak256(abi.encode(randomness.valueAt(d.randomnessBlock), disputeId, round)),
            jobMarket.getJob(jobId).worker,
            jurorLockId(disputeId, round),
            disputeId,
            // Jurors fetch two states and run the step twice before committing (§10.11).
            uint64(jobMarket.revealTimeout(jobId))
        );
    }

    /// @notice Commits a juror's vote: `keccak256(abi.encode(disputeId, round, juror, vote, salt))`.
    /// @dev Emits {VoteCommitted}. Requirements: phase Voting, commit window open, caller drawn in
    /// this round and not yet committed.
    function commitVote(uint256 disputeId, bytes32 commitment) external {
        Dispute storage d = _inPhase(disputeId, Phase.Voting);
        if (block.timestamp > d.commitEnd) revert DisputeManagerDeadlinePassed(disputeId, d.commitEnd);
        Vote storage v = _votes[disputeId][d.round][msg.sender];
        if (!v.drawn) revert DisputeManagerNotJuror(disputeId, msg.sender);
        if (v.commitment != bytes32(0)) revert DisputeManagerAlreadyCommitted(disputeId, msg.sender);
        v.commitment = commitment;
        ++_rounds[disputeId][d.round].commits;
        emit VoteCommitted(disputeId, d.round, msg.sender);
    }

    /// @notice Reveals a committed vote (1 WorkerFault, 2 WorkerHonest, 3 Indeterminate).
    /// @dev Emits {VoteRevealed}. Requirements: phase Voting; the commit window over or every drawn
    /// juror committed; the reveal window open; the vote valid and matching the caller's commitment.
    function revealVote(uint256 disputeId, uint8 vote, bytes32 salt) external {
        Dispute storage d = _inPhase(disputeId, Phase.Voting);
        uint8 round = d.round;
        RoundInfo storage r = _rounds[disputeId][round];
        if (block.timestamp <= d.commitEnd && r.commits < r.jurors.length) revert DisputeManagerRevealNotOpen(disputeId);
        if (block.timestamp > d.revealEnd) revert DisputeManagerDeadlinePassed(disputeId, d.revealEnd);
        if (vote == 0 || vote > 3) revert DisputeManagerInvalidVote(vote);
        Vote storage v = _votes[disputeId][round][msg.sender];
        if (
            v.commitment == bytes32(0) || v.vote != 0
                || v.commitment != keccak256(abi.encode(disputeId, round, msg.sender, vote, salt))
        ) revert DisputeManagerCommitmentMismatch(disputeId, msg.sender);
        v.vote = vote;
        ++r.reveals;
        ++r.counts[vote];
        emit VoteRevealed(disputeId, round, msg.sender, vote);
    }

    /// @notice Ends the round: settles its jurors and gives a ruling, or, below quorum, starts a
    /// larger round after a new randomness delay, or voids the dispute after `maxRounds` misses.
    /// @dev Emits {JurorPenalized} per penalized juror, then {RulingGiven}, or {RoundFailed} (and on
    /// void {Credited}, {DisputeClosed}). Requirements: phase Voting; the reveal window over or
    /// every drawn juror revealed; on void, no chunk challenge open on the job.
    function resolve(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Voting);
        uint8 round = d.round;
        RoundInfo storage r = _rounds[disputeId][round];
        if (block.timestamp <= d.revealEnd && r.reveals < r.jurors.length) {
            revert DisputeManagerVotingNotOver(disputeId, d.revealEnd);
        }
        if (r.jurors.length == 0 || r.reveals < r.quorum) {
            _settleJurors(disputeId, d, round, Ruling.None);
            emit RoundFailed(disputeId, round, r.reveals, r.quorum);
            if (++d.failedRounds >= _params.maxRounds) {
                _refundBond(d);
                _settleAppealsAndPot(disputeId, d, Ruling.Void, 0);
                _closeWithoutConviction(disputeId, d, Ruling.Void);
            } else {
                _nextRound(d);
            }
            return;
        }
        Ruling ruling = DisputeLogic.tally(r.counts);
        r.ruling = ruling;
        _settleJurors(disputeId, d, round, ruling);
        d.ruling = ruling;
        d.decidingRound = round;
        d.phase = Phase.Ruled;
        d.appealEnd = uint64(block.timestamp) + _params.appealWindow;
        emit RulingGiven(disputeId, round, ruling, d.appealEnd);
    }

    /// @notice Appeals a ruling to a larger committee (2M+1 of the last round), paying `appealBond`.
    /// The bond is refunded if the final ruling differs from the one appealed, else it goes to the jurors.
    /// @dev Emits {Appealed}. Requirements: phase Ruled, appeal window open, caller the worker or the
    /// challenger, fewer than `maxAppeals` appeals so far.
    function appeal(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Ruled);
        if (block.timestamp > d.appealEnd) revert DisputeManagerDeadlinePassed(disputeId, d.appealEnd);
        if (msg.sender != d.challenger && msg.sender != jobMarket.getJob(d.jobId).worker) {
            revert DisputeManagerNotParty(disputeId, msg.sender);
        }
        Params storage p = _params;
        if (d.appeals >= p.maxAppeals) revert DisputeManagerMaxAppealsReached(disputeId);
        _appeals[disputeId][d.appeals++] = Appeal(msg.sender, d.ruling, p.appealBond);
        _nextRound(d);
        emit Appealed(disputeId, msg.sender, d.round, p.appealBond);
        stakingToken.safeTransferFrom(msg.sender, address(this), p.appealBond);
    }

    /// @notice Executes a ruling once its appeal window is over (§7.6). WorkerFault: the worker's
    /// collateral is slashed and split; WorkerHonest: the bond pays `replayCost` to the worker and
    /// the rest to jurors and burn, and the step is marked judged; Indeterminate: the bond returns.
    /// @dev Emits {WorkerConvicted} or {BondForfeited}, {Credited}, {DisputeClosed}. Requirements:
    /// phase Ruled, appeal window over, the job still Submitted (else `closeMoot`), and for a
    /// non-conviction no chunk challenge open on the job.
    function finalizeRuling(uint256 disputeId) external nonReentrant {
        Dispute storage d = _inPhase(disputeId, Phase.Ruled);
        if (block.timestamp <= d.appealEnd) revert DisputeManagerDeadlineNotPassed(disputeId, d.appealEnd);
        Ruling ruling = d.ruling;
        if (jobMarket.getJob(d.jobId).status != IJobMarket.JobStatus.Submitted) revert DisputeManagerJobNotActive(d.jobId);
        if (ruling == Ruling.WorkerFault) {
            _convict(disputeId, d, d.challenger, true);
            return;
        }
        if (ruling == Ruling.WorkerHonest) {
            stepJudged[d.jobId][d.step] = true;
            _settleAppealsAndPot(disputeId, d, ruling, _forfeitBond(disputeId, d, true));
        } else {
            _refundBond(d);
            _settleAppealsAndPot(disputeId, d, ruling, 0);
        }
        _closeWithoutConviction(disputeId, d, ruling);
    }

    /// @notice Closes a dispute made moot by a conviction of its job: its bond and appeal bonds are
    /// refunded, a running committee is released without penalty.
    /// @dev Emits {Credited}, {DisputeClosed}. Requirements: the dispute not closed, the job no longer Submitted.
    function closeMoot(uint256 disputeId) external nonReentrant {
        Dispute storage d = _disputes[disputeId];
        if (d.phase == Phase.None || d.phase == Phase.Closed) revert DisputeManagerWrongPhase(disputeId, d.phase);
        if (jobMarket.getJob(d.jobId).status == IJobMarket.JobStatus.Submitted) revert DisputeManagerJobStillActive(d.jobId);
        _releaseRunningRound(disputeId, d);
        _settleAppealsAndPot(disputeId, d, Ruling.Moot, 0);
        _refundAndClose(disputeId, Ruling.Moot);
    }

    /// @notice Withdraws all of the caller's credits in the staking token.
    /// @dev Emits {Withdrawn}. Requirements: credits > 0.
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert DisputeManagerNothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        stakingToken.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    function getRound(uint256 disputeId, uint256 round) external view returns (RoundInfo memory) {
        return _rounds[disputeId][round];
    }

    function getVote(uint256 disputeId, uint256 round, address juror) external view returns (Vote memory) {
        return _votes[disputeId][round][juror];
    }

    function getAppeal(uint256 disputeId, uint256 index) external view returns (Appeal memory) {
        return _appeals[disputeId][index];
    }

    function getChunkChallenge(uint256 challengeId) external view returns (ChunkChallenge memory) {
        return _chunks[challengeId];
    }

    /// @notice Committee size of round `round` (M, then 2M+1 per new round).
    function committeeSizeAt(uint256 round) external view returns (uint256) {
        return DisputeLogic.committeeSize(_params.committeeSize, round);
    }

    /// @notice Lock id of the juror locks of one round of one dispute.
    function jurorLockId(uint256 disputeId, uint256 round) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), disputeId, round));
    }

    // ------------------------------------------------------------------ internals

    function _inPhase(uint256 disputeId, Phase phase) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.phase != phase) revert DisputeManagerWrongPhase(disputeId, d.phase);
    }

    function _liveJob(uint256 disputeId, Dispute storage d) private view returns (IJobMarket.Job memory job) {
        if (d.phase == Phase.None || d.phase == Phase.Closed) revert DisputeManagerWrongPhase(disputeId, d.phase);
        job = jobMarket.getJob(d.jobId);
        if (job.status != IJobMarket.JobStatus.Submitted) revert DisputeManagerJobNotActive(d.jobId);
    }

    function _openChunk(uint256 disputeId, bytes32 fileHash, uint64 chunkIndex, bool batch)
        private
        returns (uint256 challengeId)
    {
        uint256 answer = jobMarket.answerTimeout(_disputes[disputeId].jobId);
        uint256 bond = _params.chunkBond;
        challengeId = ++chunkChallengeCount;
        uint64 deadline = uint64(block.timestamp + answer);
        _chunks[challengeId] = ChunkChallenge(disputeId, msg.sender, ChunkStatus.Open, batch, deadline, chunkIndex, fileHash, bond);
        ++openChunkChallenges[_disputes[disputeId].jobId];
        emit ChunkChallenged(challengeId, disputeId, msg.sender, fileHash, chunkIndex, batch, deadline);
        stakingToken.safeTransferFrom(msg.sender, address(this), bond);
    }

    function _nextRound(Dispute storage d) private {
        ++d.round;
        d.phase = Phase.AwaitingDraw;
        d.randomnessBlock = uint64(block.number) + _params.randomnessDelay;
    }

    /// @dev Settles the jurors of `round` against `ruling` (None: no coherence); slashes go to the pot.
    function _settleJurors(uint256 disputeId, Dispute storage d, uint8 round, Ruling ruling) private {
        Params storage p = _params;
        d.jurorPot += DisputeJury.settle(
            stakeManager,
            _rounds[disputeId][round].jurors,
            _votes[disputeId][round],
            jurorLockId(disputeId, round),
            p.jurorLock,
            p.incoherencePenalty,
            disputeId,
            round,
            uint8(ruling)
        );
    }

    /// @dev A conviction or moot close while a committee is voting releases it without penalty.
    function _releaseRunningRound(uint256 disputeId, Dispute storage d) private {
        if (d.phase == Phase.Voting) {
            DisputeJury.release(stakeManager, _rounds[disputeId][d.round].jurors, jurorLockId(disputeId, d.round));
        }
    }

    /// @dev Appeal bonds: refunded when the final outcome differs from the ruling appealed (or
    /// there is no ruling: void, moot), else added to the pot. Then `extra` plus the pot go to the
    /// jurors coherent with `finalRuling` in the deciding round, or are burned when there are none.
    function _settleAppealsAndPot(uint256 disputeId, Dispute storage d, Ruling finalRuling, uint256 extra) private {
        uint256 pot = d.jurorPot + extra;
        d.jurorPot = 0;
        for (uint256 i = 0; i < d.appeals; ++i) {
            Appeal storage a = _appeals[disputeId][i];
            if (a.appealed == finalRuling) pot += a.bond;
            else _credit(a.appellant, a.bond);
        }
        if (pot == 0) return;
        uint8 round = d.decidingRound;
        RoundInfo storage r = _rounds[disputeId][round];
        // r.ruling is None or a vote value, so equality implies finalRuling is a vote value (1..3).
        uint256 coherent = r.ruling == finalRuling ? r.counts[uint8(finalRuling)] : 0;
        if (coherent == 0) {
            _burn(pot);
        } else {
            DisputeJury.pay(credits, r.jurors, _votes[disputeId][round], uint8(finalRuling), coherent, pot);
        }
    }

    /// @dev Worker at fault: the JobMarket rejects the job and slashes the collateral here; the
    /// shares are credited, the dispute's bond returned. Other disputes of the job become moot.
    function _convict(uint256 disputeId, Dispute storage d, address beneficiary, bool closeDispute) private {
        uint256 jobId = d.jobId;
        address requester = jobMarket.getJob(jobId).requester;
        // Trusted JobMarket: transfers the slashed collateral to this contract.
        uint256 slashed = jobMarket.onWorkerConvicted(jobId, address(this));
        Params storage p = _params;
        (uint256 toChallenger, uint256 toJurors, uint256 toRequester, uint256 burned) =
            DisputeLogic.splitSlash(slashed, p.challengerBps, p.jurorBps, p.requesterBps);
        emit WorkerConvicted(jobId, disputeId, beneficiary, slashed, toChallenger, toJurors, toRequester, burned);
        _credit(beneficiary, toChallenger);
        _credit(requester, toRequester);
        _burn(burned);
        if (closeDispute) {
            _releaseRunningRound(disputeId, d);
            _settleAppealsAndPot(disputeId, d, Ruling.WorkerFault, toJurors);
            _refundAndClose(disputeId, Ruling.WorkerFault);
        } else {
            _burn(toJurors);
        }
    }

    /// @dev A losing bond: `replayCost` to the worker, the rest split jurors / burn. Returns the jurors' share.
    function _forfeitBond(uint256 disputeId, Dispute storage d, bool withJurors) private returns (uint256 toJurors) {
        Params storage p = _params;
        uint256 bond = d.bond;
        uint256 toWorker = p.replayCost < bond ? p.replayCost : bond;
        uint256 rest = bond - toWorker;
        // Without a committee (pinpoint timeout) there is no one to pay: the jurors' share burns.
        toJurors = withJurors ? (rest * p.bondJurorBps) / DisputeLogic.BPS : 0;
        uint256 burned = rest - toJurors;
        d.bond = 0;
        emit BondForfeited(disputeId, toWorker, toJurors, burned);
        _credit(jobMarket.getJob(d.jobId).worker, toWorker);
        _burn(burned);
    }

    /// @dev Refunds the dispute's bond and closes it.
    function _refundAndClose(uint256 disputeId, Ruling ruling) private {
        Dispute storage d = _disputes[disputeId];
        _refundBond(d);
        _close(disputeId, d, ruling);
    }

    function _refundBond(Dispute storage d) private {
        uint256 bond = d.bond;
        d.bond = 0;
        _credit(d.challenger, bond);
    }

    function _closeWithoutConviction(uint256 disputeId, Dispute storage d, Ruling ruling) private {
        if (openChunkChallenges[d.jobId] != 0) revert DisputeManagerChunkChallengesOpen(d.jobId);
        _close(disputeId, d, ruling);
        jobMarket.onDisputeClosed(d.jobId);
    }

    function _close(uint256 disputeId, Dispute storage d, Ruling ruling) private {
        d.phase = Phase.Closed;
        d.ruling = ruling;
        // A live dispute is always the active one of its interval (superseding closes the old one first).
        delete activeDispute[d.jobId][d.interval];
        emit DisputeClosed(disputeId, d.jobId, ruling);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        credits[account] += amount;
        emit Credited(account, amount);
    }

    function _burn(uint256 amount) private {
        if (amount > 0) stakingToken.safeTransfer(BURN_ADDRESS, amount);
    }
}
