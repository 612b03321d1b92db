// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDisputeManager} from "./IDisputeManager.sol";

/// @title IDataAvailability
/// @notice Whatever a worker committed is producible on chain on demand (PROTOCOL.md §11, v3 V1):
/// checkpoint leaves, step leaves and 8 KiB chunks of states and batches. Proven evidence is
/// stored per job and serves every dispute of it; unanswered demands convict the worker.
interface IDataAvailability {
    enum Kind {
        None,
        Checkpoints, // checkpoint leaves `interval` and `interval+1` (opened by the DisputeManager, V1.1)
        StepLeaves, // step leaves `first .. first+count-1` of `interval` (V1.2)
        StateChunk, // chunk `chunkIndex` of the state with hash `fileHash` (a proven step leaf)
        BatchChunk // chunk `chunkIndex` of the batch with hash `fileHash` (a proven data-tree leaf)
    }

    enum Status {
        None,
        Open,
        Answered,
        TimedOut, // unanswered: the worker was convicted (or the job had already ended)
        Settled // an answered challenge's bond was paid out after the job ended
    }

    struct Challenge {
        uint256 jobId;
        uint256 disputeId; // 0: opened by an assigned auditor without a dispute (V1.5)
        address opener;
        Kind kind;
        Status status;
        uint64 deadline;
        uint64 interval; // Checkpoints, StepLeaves, StateChunk: the interval
        uint64 first; // StepLeaves: first leaf index; chunks: the chunk index
        uint64 count; // StepLeaves: number of leaves
        bytes32 fileHash; // chunks: the state or batch file hash
        uint256 bond;
    }

    struct CheckpointLeaf {
        bool known;
        bytes32 stateHash;
        bytes32 stepRoot;
    }

    struct StepLeaf {
        bool known;
        bytes32 stateHash;
    }

    /// @dev Governance parameters; amounts in the staking token, durations in seconds.
    struct Params {
        uint256 leafBond; // per step-leaf demand
        uint256 chunkBond; // per chunk challenge
        uint256 answerFee; // what one answer costs the worker at the reference gas rate (V1.6)
        uint256 openerFee; // what the opener of an unanswered challenge earns from the slash (V4.1)
        uint32 perAnswerTime; // the i-th open challenge of a job is due answerTimeout + i·perAnswerTime (V1.7)
        uint16 maxOpenPerCase; // open challenges per dispute (or per auditor of a job)
        uint16 maxPerCase; // challenges ever opened per dispute (or per auditor of a job); bounds stateBytes (V1.7)
    }

    event ParamsUpdated(Params params);
    event CheckpointProven(uint256 indexed jobId, uint64 indexed index, bytes32 stateHash, bytes32 stepRoot);
    event StepLeavesProven(uint256 indexed jobId, uint64 indexed interval, uint64 first, bytes32[] stateHashes);
    event ChallengeOpened(
        uint256 indexed challengeId, uint256 indexed jobId, uint256 indexed disputeId, address opener, Kind kind,
        uint64 interval, uint64 first, uint64 count, bytes32 fileHash, uint64 deadline
    );
    event ChallengeAnswered(uint256 indexed challengeId, address indexed sender);
    event ChallengeTimedOut(uint256 indexed challengeId, bool convicted);
    event ChallengeSettled(uint256 indexed challengeId, uint256 toWorker, uint256 toOpener);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    error DataAvailabilityInvalidParam(string field);
    error DataAvailabilityNotDisputeManager(address caller);
    error DataAvailabilityDisputeManagerAlreadySet(address current);
    error DataAvailabilityZeroAddress();
    error DataAvailabilityJobNotActive(uint256 jobId);
    error DataAvailabilityNotAllowed(uint256 jobId, uint256 disputeId, address caller);
    error DataAvailabilityInvalidIndex(uint256 jobId, uint64 index);
    error DataAvailabilityInvalidRange(uint256 jobId, uint64 interval, uint64 first, uint64 count);
    error DataAvailabilityInvalidProof(uint256 jobId);
    error DataAvailabilityUnknownLeaf(uint256 jobId, uint64 interval, uint64 leafIndex);
    error DataAvailabilityAlreadyKnown(uint256 jobId, uint64 interval);
    error DataAvailabilityTooManyOpen(uint256 jobId, uint256 disputeId, uint256 open);
    error DataAvailabilityTooManyChallenges(uint256 jobId, uint256 disputeId, uint256 opened);
    error DataAvailabilityWrongStatus(uint256 challengeId, Status status);
    error DataAvailabilityWrongKind(uint256 challengeId, Kind kind);
    error DataAvailabilityDeadlinePassed(uint256 challengeId, uint64 deadline);
    error DataAvailabilityDeadlineNotPassed(uint256 challengeId, uint64 deadline);
    error DataAvailabilityNotAnswered(uint256 challengeId);
    error DataAvailabilityInvalidChunk(uint256 challengeId);
    error DataAvailabilityJobNotOver(uint256 jobId);
    error DataAvailabilityNothingToWithdraw(address account);
    error DataAvailabilityStateTooLarge(uint64 stateBytes, uint256 challengesNeeded, uint256 maxPerCase);

    // evidence: permissionless and idempotent
    // ───────────── events and errors (the implementation emits and reverts with these) ─────────────
    event DisputeManagerSet(address indexed disputeManager);

    /// @notice Stores checkpoint leaf `index` of a submitted job, proven against its checkpoint root.
    /// Permissionless and idempotent; the stored leaf serves every dispute of the job.
    /// @dev Emits {CheckpointProven} the first time. Requirements: the job submitted; the proof valid.
    function proveCheckpoint(uint256 jobId, uint64 index, bytes32 stateHash, bytes32 stepRoot, bytes32[] calldata proof)
        external;
    /// @notice Stores step leaves `first ..` of interval `interval`, proven with one range proof
    /// against the interval's step root (its checkpoint leaf must be stored). Permissionless.
    /// @dev Emits {StepLeavesProven}. Requirements: the job submitted; the checkpoint leaf known; the
    /// range inside the interval's k+1 leaves and at most MAX_LEAVES long; the proof valid.
    function proveStepLeaves(
        uint256 jobId,
        uint64 interval,
        uint64 first,
        bytes32[] calldata stateHashes,
        bytes32[] calldata rangeProof
    ) external;

    // demands
    function openCheckpointDemand(uint256 jobId, uint256 disputeId, uint64 interval, address opener)
        external
        returns (uint256 challengeId);
    /// @notice Demands step leaves `first .. first+count-1` of interval `interval`, taking `leafBond`.
    /// @dev Emits {ChallengeOpened}. Requirements: caller allowed (see the contract doc); the
    /// interval's checkpoint leaf known; 0 < count ≤ MAX_LEAVES inside the k+1 leaves; some of them
    /// not yet known; the case below its caps.
    function demandStepLeaves(uint256 jobId, uint256 disputeId, uint64 interval, uint64 first, uint64 count)
        external
        returns (uint256 challengeId);
    /// @notice Challenges the worker to publish chunk `chunkIndex` of the state at step leaf
    /// `leafIndex` of interval `interval` (a stored leaf), taking `chunkBond`.
    /// @dev Emits {ChallengeOpened}. Requirements: caller allowed; the step leaf known (prove it or
    /// demand it first); the case below its caps.
    function challengeStateChunk(uint256 jobId, uint256 disputeId, uint64 interval, uint64 leafIndex, uint64 chunkIndex)
        external
        returns (uint256 challengeId);
    /// @notice Challenges the worker to publish chunk `chunkIndex` of batch `batchIndex` of the job's
    /// data tree, taking `chunkBond`.
    /// @dev Emits {ChallengeOpened}. Requirements: caller allowed; `batchHash` proven as leaf
    /// `batchIndex` of the job's data root; the case below its caps.
    function challengeBatchChunk(
        uint256 jobId,
        uint256 disputeId,
        uint64 batchIndex,
        bytes32 batchHash,
        bytes32[] calldata dataProof,
        uint64 chunkIndex
    ) external returns (uint256 challengeId);

    // answers and timeouts
    /// @notice Answers a checkpoint demand with both leaves and their proofs (stored as evidence).
    /// Anyone may send it; the answer is credited to the job's worker (V4.2).
    /// @dev Emits {CheckpointProven} (new leaves), {ChallengeAnswered}. Requirements: an open
    /// Checkpoints challenge before its deadline; both proofs valid.
    function answerCheckpoints(
        uint256 challengeId,
        bytes32 stateHash,
        bytes32 stepRoot,
        bytes32[] calldata proof,
        bytes32 stateHashNext,
        bytes32 stepRootNext,
        bytes32[] calldata proofNext
    ) external;
    /// @notice Answers a step-leaf demand with the demanded leaves and one range proof.
    /// @dev Emits {StepLeavesProven}, {ChallengeAnswered}. Requirements: an open StepLeaves challenge
    /// before its deadline; exactly the demanded range; the proof valid.
    function answerStepLeaves(uint256 challengeId, bytes32[] calldata stateHashes, bytes32[] calldata rangeProof)
        external;
    /// @notice Answers a chunk challenge with the chunk and its proof against the file hash. A
    /// challenge naming a chunk past the end of the file is answered with the file's last chunk.
    /// @dev Emits {ChallengeAnswered}. Requirements: an open StateChunk or BatchChunk challenge before
    /// its deadline; `DisputeLogic`-style check: right length for the index and
    /// `fileHash(byteLength, root) == fileHash`.
    function answerChunk(uint256 challengeId, uint64 byteLength, bytes calldata chunk, bytes32[] calldata proof)
        external;
    /// @notice Settles an unanswered challenge after its deadline: the worker is convicted (data
    /// unavailable) unless the data became known meanwhile or the job already ended; the opener's
    /// bond is refunded.
    /// @dev Emits {ChallengeTimedOut} (and the conviction events of the DisputeManager) or
    /// {ChallengeAnswered} when the evidence arrived through another path. Requirements: open; deadline passed.
    function timeoutChallenge(uint256 challengeId) external;
    /// @notice Pays out an answered challenge's bond once its job has ended: refunded to the opener
    /// when the worker was convicted, else `answerFee` to the worker and the rest to the opener (V1.6).
    /// @dev Emits {ChallengeSettled}, {Credited}. Requirements: Answered; the job Finalized or Rejected.
    function settle(uint256 challengeId) external;
    /// @notice Withdraws all of the caller's credits in the staking token.
    /// @dev Emits {Withdrawn}. Requirements: credits > 0.
    function withdraw() external;

    // views
    /// @notice Reverts unless a challenger can extract what a dispute of a job with checkpoint
    /// interval `k` and states of `stateBytes` may need within one dispute's cap (v3 V1.7): all k+1
    /// step leaves and 2 + ⌈log₂ k⌉ whole states, chunk by chunk.
    function checkJobTerms(uint64 k, uint64 stateBytes) external view;
    /// @notice The current parameters.
    function params() external view returns (Params memory);
    /// @notice One challenge.
    function getChallenge(uint256 challengeId) external view returns (Challenge memory);
    /// @notice A stored checkpoint leaf (known false when nobody proved it yet).
    function checkpointLeaf(uint256 jobId, uint64 index) external view returns (CheckpointLeaf memory);
    /// @notice A stored step leaf by global step (known false when nobody proved it yet).
    function stepLeaf(uint256 jobId, uint64 globalStep) external view returns (StepLeaf memory);
    function openChallenges(uint256 jobId) external view returns (uint256);
    function challengeCount() external view returns (uint256);
    /// @notice Open challenges of a dispute and the time its latest challenge was answered.
    function disputeActivity(uint256 disputeId) external view returns (uint256 open, uint64 lastAnswerAt);
    function credits(address account) external view returns (uint256);

    /// @notice Sets the DisputeManager once (it is deployed after this contract).
    /// @dev Emits {DisputeManagerSet}. Requirements: GOVERNOR_ROLE; not set; non-zero.
    function setDisputeManager(IDisputeManager disputeManager_) external;
    /// @notice Replaces all parameters (challenges already open keep their bond and deadline).
    /// @dev Emits {ParamsUpdated}. Requirements: GOVERNOR_ROLE; bonds ≥ answerFee > 0 (an answer is
    /// always paid); openerFee ≤ chunkBond; 0 < perAnswerTime ≤ 1 day; 0 < maxOpenPerCase ≤ maxPerCase.
    function setParams(Params calldata params_) external;
}
