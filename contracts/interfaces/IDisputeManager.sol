// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDataAvailability} from "./IDataAvailability.sol";

/// @title IDisputeManager
/// @notice Interval disputes, pinpointing and juror committees (PROTOCOL.md §7, §10, v3 §11).
/// Data availability (checkpoint leaves, step leaves, chunks) lives in IDataAvailability.
interface IDisputeManager {
    /// @dev Where a dispute stands. `Closed` is terminal.
    enum Phase {
        None,
        Pinpointing, // opened; the challenger must name one step before its deadline
        AwaitingDraw, // step named (or new round / appeal); waiting for the randomness block
        Voting, // committee drawn; commit until `commitEnd`, reveal until `revealEnd`
        Ruled, // a round ruled; appealable until `appealEnd`, then `finalizeRuling`
        Closed
    }

    /// @dev Vote values 1..3 are also juror votes (docs/encoding.md).
    enum Ruling {
        None,
        WorkerFault,
        WorkerHonest,
        Indeterminate, // no step judged; closed so when the challenger named no further step
        Void, // quorum missed maxRounds times, or no committee could be drawn within maxDrawWait
        ChallengerTimedOut, // no pinpoint in time
        Unresolved, // three pinpointed steps all ruled Indeterminate: the interval's reward share is refunded
        Moot // the worker was convicted (by any dispute or availability challenge of the job)
    }

    struct Dispute {
        uint256 jobId;
        address challenger;
        uint64 interval;
        uint64 order; // global commitment order; the earliest live dispute takes a conviction's bounty
        Phase phase;
        Ruling ruling; // current ruling (after a round) or the final one (Closed)
        uint8 round; // current committee round, 0-based, counted over all pinpoints
        uint8 roundBase; // first round of the current pinpoint (committees grow from it)
        uint8 failedRounds; // rounds of the current pinpoint that missed quorum
        uint8 appeals; // appeals ever made
        uint8 appealsSettled; // appeals already settled by an earlier ruling
        uint8 pinpoints; // steps pinpointed (at most MAX_PINPOINTS, v3 V9.3)
        uint8 decidingRound; // round that gave `ruling` (valid when `ruling` is 1..3)
        bool reopened; // opened by `reopenDispute` after a Void
        uint64 committedAt; // time of the challenger's commitment
        uint64 deadline; // Pinpointing: pinpoint deadline, before extensions by answered challenges
        uint64 step; // pinpointed global step j (S_j -> S_{j+1})
        uint64 randomnessBlock; // AwaitingDraw: target block of the draw (0: waits for `drawEpoch`)
        uint64 drawEpoch; // AwaitingDraw: the epoch whose frozen weights the draw reads (v3 V3.2)
        uint64 drawSince; // AwaitingDraw: when this round started waiting for a committee (V5.2)
        uint64 commitEnd; // before extensions by answered juror challenges
        uint64 revealEnd;
        uint64 appealEnd;
        uint256 checkpointDemand; // IDataAvailability challenge id when opened without checkpoint leaves
        uint256 bond;
        uint256 jurorPot; // juror slashes and lost appeal bonds, paid to coherent jurors at the end
        uint256 prev; // neighbours in the job's list of live disputes, ordered by `order`
        uint256 next;
    }

    /// @dev Checkpoint leaf `(i, stateHash, stepRoot)` and its proof against the job's checkpoint root.
    /// An empty proof means "not given": the worker must then post the leaves (v3 V1.1).
    struct CheckpointProof {
        bytes32 stateHash;
        bytes32 stepRoot;
        bytes32[] proof;
    }

    /// @dev A step leaf's state hash and its proof against the interval's step root; an empty proof
    /// means "stored in the DataAvailability".
    struct StepClaim {
        bytes32 stateHash;
        bytes32[] proof;
    }

    /// @dev Two slots (issue 17): `bond` ≤ `Params.commitBond`, which is at most 2^96 − 1.
    struct ChallengeCommitment {
        address challenger;
        uint96 bond;
        uint64 order;
        uint64 committedAt;
        uint64 committedBlock;
    }

    struct RoundInfo {
        address[] jurors; // each seated account once; `Vote.seats` says how many seats it holds
        uint32 seats; // seats filled (commits, reveals, counts and quorum count seats)
        uint32 commits;
        uint32 reveals;
        uint32 quorum;
        // ruling and truth share the slot the draw writes, so setting them never opens a fresh slot (issue 17)
        Ruling ruling; // None when the round missed quorum
        Ruling truth; // a juror canary's committed ruling of the step, once revealed (v3 V10.1); else None
        uint32[4] counts; // counts[vote], vote 1..3
    }

    /// @dev One slot (issue 17), so a commit rewrites the slot the draw opened instead of a fresh one.
    struct Vote {
        uint8 seats; // seats this juror holds in the round (0: not drawn)
        uint8 vote;
        bytes30 commitment; // the commitment's first 30 bytes: 240 bits still bind the vote (2^120 to collide)
    }

    struct Appeal {
        address appellant;
        Ruling appealed; // the ruling the appellant contested
        uint256 bond;
    }

    /// @dev Governance parameters; all amounts in the staking token, durations in seconds.
    struct Params {
        uint256 disputeBond;
        uint256 commitBond; // burned unless the dispute opens within commitTTL (v3 V2.1)
        uint256 appealBond;
        uint256 jurorLock;
        uint256 incoherencePenalty; // <= jurorLock
        uint256 replayCost; // <= disputeBond; what a challenger who lost a ruling pays the worker
        uint16 challengerBps; // shares of a slashed collateral; the rest is burned
        uint16 jurorBps;
        uint16 requesterBps;
        uint16 bondJurorBps; // share of a losing bond (after replayCost) to jurors; the rest is burned
        uint8 committeeSize; // M
        uint8 quorum; // reveals needed of M (scaled for larger rounds)
        uint8 maxRounds; // rounds that may miss quorum before the dispute is void
        uint8 maxAppeals; // per pinpointed step
        uint16 randomnessDelay; // blocks
        uint32 revealWindow; // seconds after the commit window (the commit window is the job's revealTimeout)
        uint32 appealWindow;
        uint32 commitTTL; // seconds a challenge commitment stays usable
        uint32 maxExtension; // seconds after windowEnd in which a voided interval may be reopened
        uint32 maxDrawWait; // seconds a round may wait for a committee before the dispute is void
    }

    event ParamsUpdated(Params params);
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger, uint64 order, uint256 bond);
    event CommitmentExpired(bytes32 indexed commitment, uint256 burned);
    event DisputeOpened(
        uint256 indexed disputeId, uint256 indexed jobId, uint64 interval, address indexed challenger, uint256 bond,
        uint64 pinpointDeadline
    );
    event DisputeReopened(uint256 indexed disputeId, uint256 indexed voidedDisputeId);
    event StepPinpointed(
        uint256 indexed disputeId, uint64 globalStep, bytes32 stateHashBefore, bytes32 stateHashAfter,
        uint64 randomnessBlock
    );
    event RandomnessRetargeted(uint256 indexed disputeId, uint64 randomnessBlock);
    event CommitteeDrawn(
        uint256 indexed disputeId, uint8 indexed round, address[] jurors, uint32 quorum, uint64 commitEnd,
        uint64 revealEnd
    );
    event VoteCommitted(uint256 indexed disputeId, uint8 indexed round, address indexed juror);
    event VoteRevealed(uint256 indexed disputeId, uint8 indexed round, address indexed juror, uint8 vote);
    event JurorPenalized(uint256 indexed disputeId, uint8 indexed round, address indexed juror, uint256 amount);
    event CanaryTruthRevealed(uint256 indexed disputeId, uint8 indexed round, uint64 step, Ruling truth);
    event RoundFailed(uint256 indexed disputeId, uint8 indexed round, uint32 reveals, uint32 quorum);
    event RulingGiven(uint256 indexed disputeId, uint8 indexed round, Ruling ruling, uint64 appealEnd);
    event Appealed(uint256 indexed disputeId, address indexed appellant, uint8 round, uint256 bond);
    event PinpointReopened(uint256 indexed disputeId, uint8 pinpoints, uint64 deadline);
    event DisputeClosed(uint256 indexed disputeId, uint256 indexed jobId, Ruling ruling);
    event WorkerConvicted(
        uint256 indexed jobId, uint256 indexed disputeId, address indexed beneficiary, uint256 slashed,
        uint256 challengerShare, uint256 jurorShare, uint256 requesterShare, uint256 burned
    );
    event BondForfeited(uint256 indexed disputeId, uint256 workerShare, uint256 jurorShare, uint256 burned);
    event BoundaryMismatchProven(
        uint256 indexed disputeId, bool atEnd, bytes32 checkpointStateHash, bytes32 stepLeafStateHash
    );
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    error DisputeManagerInvalidParam(string field);
    error DisputeManagerZeroAddress();
    error DisputeManagerCommitmentExists(bytes32 commitment);
    error DisputeManagerCommitmentNotFound(bytes32 commitment);
    error DisputeManagerCommitmentTooRecent(bytes32 commitment, uint256 commitBlock);
    error DisputeManagerCommitmentBeforeSubmission(bytes32 commitment, uint256 commitBlock, uint256 submittedBlock);
    error DisputeManagerCommitmentExpired(bytes32 commitment, uint256 expiredAt);
    error DisputeManagerCommitmentNotExpired(bytes32 commitment, uint256 expiresAt);
    error DisputeManagerJobNotDisputable(uint256 jobId);
    error DisputeManagerInvalidInterval(uint256 jobId, uint64 interval);
    error DisputeManagerInvalidProof();
    error DisputeManagerAlreadyDisputing(uint256 jobId, uint64 interval, address challenger, uint256 disputeId);
    error DisputeManagerCannotReopen(uint256 disputeId);
    error DisputeManagerCheckpointsUnknown(uint256 disputeId);
    error DisputeManagerWrongPhase(uint256 disputeId, Phase phase);
    error DisputeManagerNotChallenger(uint256 disputeId, address caller);
    error DisputeManagerNotDataAvailability(address caller);
    error DisputeManagerDeadlinePassed(uint256 disputeId, uint256 deadline);
    error DisputeManagerDeadlineNotPassed(uint256 disputeId, uint256 deadline);
    error DisputeManagerChallengesOpen(uint256 disputeId, uint256 open);
    error DisputeManagerInvalidStep(uint256 disputeId, uint64 localStep);
    error DisputeManagerStepAlreadyJudged(uint256 jobId, uint64 globalStep);
    error DisputeManagerRandomnessNotReady(uint256 disputeId, uint64 randomnessBlock);
    error DisputeManagerNotJuror(uint256 disputeId, address caller);
    error DisputeManagerAlreadyCommitted(uint256 disputeId, address juror);
    error DisputeManagerZeroCommitment(uint256 disputeId);
    error DisputeManagerRevealNotOpen(uint256 disputeId);
    error DisputeManagerInvalidVote(uint8 vote);
    error DisputeManagerCommitmentMismatch(uint256 disputeId, address juror);
    error DisputeManagerVotingNotOver(uint256 disputeId, uint64 revealEnd);
    error DisputeManagerMaxAppealsReached(uint256 disputeId);
    error DisputeManagerJobStillActive(uint256 jobId);
    error DisputeManagerJobNotActive(uint256 jobId);
    error DisputeManagerNothingToWithdraw(address account);
    error DisputeManagerBoundaryConsistent(uint256 disputeId, bool atEnd);
    error DisputeManagerJurorLockTooLow(uint256 jurorLock, uint256 required);
    error DisputeManagerSquattingTooCheap(uint256 squatCost, uint256 bounty);
    error DisputeManagerCanaryTruthKnown(uint256 disputeId);
    error DisputeManagerNotCanary(uint256 disputeId);

    /// @notice Commits to disputing an interval without revealing it, taking `commitBond`:
    /// `commitment = keccak256(abi.encode(jobId, interval, challenger, salt))`. It counts only if
    /// mined after the job's submission block and before its window end, and must be used within
    /// `commitTTL`, else its bond is burned (v3 V2.1).
    /// @dev Emits {ChallengeCommitted}. Requirements: the commitment is new.
    function commitChallenge(bytes32 commitment) external;
    /// @notice Burns the bond of a commitment not used within `commitTTL`. Anyone may call.
    /// @dev Emits {CommitmentExpired}. Requirements: the commitment exists, unused, and expired.
    function expireCommitment(bytes32 commitment) external;
    /// @notice Opens a dispute on interval `interval` of a submitted job, taking `disputeBond` and
    /// refunding the commitment's bond. With both checkpoint proofs the leaves are stored as
    /// evidence; with empty proofs (leaves the challenger could not obtain) the worker must post them
    /// within the job's answer timeout or be convicted (v3 V1.1).
    /// @param hint a live dispute of the job ordered before this one, to find its place in the queue
    /// cheaply (0: search from the head; a wrong hint costs gas, never correctness).
    /// @dev Emits {DisputeOpened} (and the DataAvailability's events). Requirements: a commitment of
    /// the caller at least one block old, mined after the submission block and by `windowEnd`, not
    /// expired; the job Submitted and its window open; `interval < n-1`; no live dispute of the caller
    /// on the interval; given proofs valid.
    function openDispute(
        uint256 jobId,
        uint64 interval,
        bytes32 salt,
        CheckpointProof calldata checkpoint,
        CheckpointProof calldata checkpointNext,
        uint256 hint
    ) external returns (uint256 disputeId);
    /// @notice Reopens an interval whose dispute ended Void (v3 V2.3): once per challenger and
    /// interval, keeping the voided dispute's order; after `windowEnd` only when its commitment was
    /// still valid at `windowEnd`, and never after `windowEnd + maxExtension`.
    /// @dev Emits {DisputeReopened}, {DisputeOpened}. Requirements: the caller is the voided
    /// dispute's challenger; the job Submitted; the rules above.
    function reopenDispute(uint256 voidedDisputeId, uint256 hint) external returns (uint256 disputeId);
    /// @notice Names the disputed step: the worker's states before and after local step `localStep`
    /// of the interval, each proven against the interval's step root or already stored as evidence
    /// (empty proof). Starts the randomness delay.
    /// @dev Emits {StepPinpointed}. Requirements: the challenger; phase Pinpointing before its
    /// (extended) deadline; the interval's checkpoint leaf known; `localStep < k`; both step leaves
    /// proven; the global step not judged before; fewer than MAX_PINPOINTS steps named.
    function pinpoint(uint256 disputeId, uint64 localStep, StepClaim calldata before, StepClaim calldata next_)
        external;
    /// @notice Closes a dispute whose challenger named no step in time. A first pinpoint missed
    /// forfeits the bond (the worker gets `answerFee` only if it had to post checkpoint leaves, the
    /// rest burns, V2.5); after an Indeterminate ruling the dispute closes Indeterminate, bond refunded.
    /// @dev Emits {BondForfeited} or {Credited}, then {DisputeClosed}. Requirements: phase
    /// Pinpointing; the job Submitted (else `closeMoot`); the (extended) deadline passed; none of the
    /// dispute's challenges open.
    function timeoutPinpoint(uint256 disputeId) external;
    /// @notice Convicts a worker whose step tree of the disputed interval disagrees with its own
    /// checkpoints: step leaf 0 (`atEnd` false) or step leaf k (`atEnd` true) holds a state hash
    /// other than checkpoint `i` (or `i+1`). No single-step replay can catch this, so it is proven
    /// directly (with a proof, or from stored evidence with an empty proof). Permissionless.
    /// @dev Emits {BoundaryMismatchProven} and the conviction events. Requirements: the dispute live,
    /// the job Submitted; checkpoint leaves `i`, `i+1` known; the step leaf proven; a mismatch.
    function proveBoundaryMismatch(uint256 disputeId, bool atEnd, bytes32 stateHash, bytes32[] calldata stepProof)
        external;
    /// @notice Draws the round's committee once the randomness block is mined; re-targets the
    /// randomness block when it expired unread, or when nobody could be drawn (V5.2) until
    /// `maxDrawWait` has passed, after which the dispute is Void and the interval's share of the
    /// reward goes back to the requester (for an appeal round: the appealed ruling stands, V6.1).
    /// @dev Emits {CommitteeDrawn}, {RandomnessRetargeted}, or the Void events. Requirements: phase
    /// AwaitingDraw; the job Submitted (else `closeMoot`); the randomness available (or expired).
    function drawCommittee(uint256 disputeId) external;
    /// @notice Commits a juror's vote: `keccak256(abi.encode(disputeId, round, juror, vote, salt))`.
    /// @dev Emits {VoteCommitted}. Requirements: phase Voting, commit window open (extended by answered
    /// juror challenges), caller drawn in this round and not yet committed, commitment non-zero in its
    /// first 30 bytes, the part `getVote` keeps and `revealVote` compares (V6.3, issue 17).
    function commitVote(uint256 disputeId, bytes32 commitment) external;
    /// @notice Reveals a committed vote (1 WorkerFault, 2 WorkerHonest, 3 Indeterminate).
    /// @dev Emits {VoteRevealed}. Requirements: phase Voting; the commit window over or every drawn
    /// juror committed; the reveal window open; the vote valid and matching the caller's commitment.
    function revealVote(uint256 disputeId, uint8 vote, bytes32 salt) external;
    /// @notice Ends the round: settles its jurors and gives a ruling (V9.2), or, below quorum, starts
    /// a larger round; an appeal round below quorum leaves the appealed ruling standing (V6.1); a first
    /// round that missed quorum `maxRounds` times voids the dispute.
    /// @dev Emits {JurorPenalized} per penalized juror, then {RulingGiven} or {RoundFailed} (and on
    /// void {Credited}, {DisputeClosed}). Requirements: phase Voting; the job Submitted (else
    /// `closeMoot`); the reveal window over or every drawn juror revealed; none of the dispute's
    /// challenges open.
    function resolve(uint256 disputeId) external;
    /// @notice Appeals a ruling to a larger committee (2M+1 of the last round), paying `appealBond`.
    /// The bond is refunded if the final ruling differs from the one appealed, else it goes to the jurors.
    /// Anyone may fund an appeal (v3 V10.2); its committee's incoherent jurors lose the whole `jurorLock`.
    /// @dev Emits {Appealed}. Requirements: phase Ruled, appeal window open, fewer than `maxAppeals`
    /// appeals on this step.
    function appeal(uint256 disputeId) external;
    /// @notice Reveals that the dispute's job is a juror canary (v3 V10.1) and records the committed
    /// ruling of its pinpointed step for the current round: WorkerFault iff the step is one of
    /// `faultSteps`, else WorkerHonest; the round's settlement then takes the whole `jurorLock` of
    /// every revealed vote other than it (`DisputeLogic.jurorPenalty`). Anyone holding the salt may
    /// call, once per round, from the end of the commit phase (every vote is then bound by its
    /// commitment; no commitment is accepted afterwards) until `resolve`.
    /// @dev Emits {CanaryTruthRevealed}. Requirements: phase Voting; the commit window over or every
    /// drawn juror committed; no truth recorded for the round; `(job.specHash, faultSteps, salt)` a
    /// leaf of the CanaryRegistry root of the job's creation epoch, proven by `proof`.
    function revealCanaryTruth(uint256 disputeId, uint256[] calldata faultSteps, bytes32 salt, bytes32[] calldata proof)
        external;
    /// @notice Executes a ruling once its appeal window is over (§7.6). WorkerFault: the worker is
    /// convicted; WorkerHonest: the bond pays `replayCost` to the worker and the rest to jurors and
    /// burn, and the step is marked judged; Indeterminate (V9.3): no step is judged and the challenger
    /// may pinpoint another step, up to MAX_PINPOINTS; after the last, the dispute closes Unresolved,
    /// bond refunded and the interval's share of the reward returned to the requester.
    /// @dev Emits the conviction events, or {BondForfeited}/{Credited}, {PinpointReopened} or
    /// {DisputeClosed}. Requirements: phase Ruled, appeal window over, the job still Submitted (else `closeMoot`).
    function finalizeRuling(uint256 disputeId) external;
    /// @notice Closes a dispute made moot by a conviction of its job: its bond and appeal bonds are
    /// refunded, a running committee is released without penalty.
    /// @dev Emits {Credited}, {DisputeClosed}. Requirements: the dispute live, the job no longer Submitted.
    function closeMoot(uint256 disputeId) external;
    /// @notice Withdraws all of the caller's credits in the staking token.
    /// @dev Emits {Withdrawn}. Requirements: credits > 0.
    function withdraw() external;

    /// @notice IDataAvailability only: an availability challenge of `jobId` went unanswered.
    function onUnavailable(uint256 jobId, uint256 disputeId, address opener) external;

    function dataAvailability() external view returns (IDataAvailability);
    /// @notice One dispute.
    function getDispute(uint256 disputeId) external view returns (Dispute memory);
    /// @notice One committee round of a dispute.
    function getRound(uint256 disputeId, uint256 round) external view returns (RoundInfo memory);
    /// @notice A juror's seat and vote in one round.
    function getVote(uint256 disputeId, uint256 round, address juror) external view returns (Vote memory);
    /// @notice One appeal of a dispute.
    function getAppeal(uint256 disputeId, uint256 index) external view returns (Appeal memory);
    /// @notice Global order of challenge commitments (v3 V2.1): how many were ever made.
    function commitmentCount() external view returns (uint64);
    /// @notice Bonds of commitments neither used nor expired (conservation checks read it).
    function commitBondsHeld() external view returns (uint256);
    /// @notice A challenge commitment (zero once used or never made).
    function getCommitment(bytes32 commitment) external view returns (ChallengeCommitment memory);
    /// @notice The current parameters.
    function params() external view returns (Params memory);
    function credits(address account) external view returns (uint256);
    /// @notice Lock id of the juror locks of one round of one dispute.
    function jurorLockId(uint256 disputeId, uint256 round) external view returns (bytes32);
    /// @notice Whether `account` may open availability challenges in dispute `disputeId` of `jobId`:
    /// its challenger, or a juror drawn in its current round, while the dispute is live (v3 V4.1).
    function isChallengeParty(uint256 jobId, uint256 disputeId, address account) external view returns (bool);
    /// @notice The earliest-ordered live dispute of a job that missed no deadline (0: none).
    function bountyDispute(uint256 jobId) external view returns (uint256);
    /// @notice Live disputes of a job (finalize waits for zero).
    function liveDisputes(uint256 jobId) external view returns (uint256);
    /// @notice Until when `finalize` of `jobId` must wait for a possible reopening (v3 V2.3).
    function reopenHold(uint256 jobId) external view returns (uint64);
    /// @notice Reverts unless a job with these terms can be disputed soundly: v3 V6.2 (jurorLock
    /// covers the collateral) and V2.4 (squatting an interval costs more than the bounty).
    function checkJobTerms(uint256 collateral, uint256 challengeWindow, uint256 answerTimeout, uint256 pinpointTimeout)
        external
        view;

    /// @notice Replaces all parameters at once.
    /// @dev Emits {ParamsUpdated}. Requirements: GOVERNOR_ROLE; every value within its bounds and
    /// every reachable committee drawable (see `DisputeLogic.invalidParam`), else
    /// {DisputeManagerInvalidParam} naming the field.
    function setParams(Params calldata params_) external;
    /// @notice The pinpoint deadline of a dispute: its own deadline, or `pinpointTimeout` after the
    /// latest answer to one of its availability challenges, whichever is later.
    function pinpointDeadline(uint256 disputeId) external view returns (uint256);
    /// @notice The current round's commit and reveal ends: a juror challenge answered during the
    /// round extends the commit window to `revealTimeout` after the answer.
    function votingWindows(uint256 disputeId) external view returns (uint256 commitEnd, uint256 revealEnd);
}
