// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

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
    function proveCheckpoint(uint256 jobId, uint64 index, bytes32 stateHash, bytes32 stepRoot, bytes32[] calldata proof)
        external;
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
    function demandStepLeaves(uint256 jobId, uint256 disputeId, uint64 interval, uint64 first, uint64 count)
        external
        returns (uint256 challengeId);
    function challengeStateChunk(uint256 jobId, uint256 disputeId, uint64 interval, uint64 leafIndex, uint64 chunkIndex)
        external
        returns (uint256 challengeId);
    function challengeBatchChunk(
        uint256 jobId,
        uint256 disputeId,
        uint64 batchIndex,
        bytes32 batchHash,
        bytes32[] calldata dataProof,
        uint64 chunkIndex
    ) external returns (uint256 challengeId);

    // answers and timeouts
    function answerCheckpoints(
        uint256 challengeId,
        bytes32 stateHash,
        bytes32 stepRoot,
        bytes32[] calldata proof,
        bytes32 stateHashNext,
        bytes32 stepRootNext,
        bytes32[] calldata proofNext
    ) external;
    function answerStepLeaves(uint256 challengeId, bytes32[] calldata stateHashes, bytes32[] calldata rangeProof)
        external;
    function answerChunk(uint256 challengeId, uint64 byteLength, bytes calldata chunk, bytes32[] calldata proof)
        external;
    function timeoutChallenge(uint256 challengeId) external;
    function settle(uint256 challengeId) external;
    function withdraw() external;

    // views
    /// @notice Reverts unless a challenger can extract what a dispute of a job with checkpoint
    /// interval `k` and states of `stateBytes` may need within one dispute's cap (v3 V1.7): all k+1
    /// step leaves and 2 + ⌈log₂ k⌉ whole states, chunk by chunk.
    function checkJobTerms(uint64 k, uint64 stateBytes) external view;
    function params() external view returns (Params memory);
    function getChallenge(uint256 challengeId) external view returns (Challenge memory);
    function checkpointLeaf(uint256 jobId, uint64 index) external view returns (CheckpointLeaf memory);
    function stepLeaf(uint256 jobId, uint64 globalStep) external view returns (StepLeaf memory);
    function openChallenges(uint256 jobId) external view returns (uint256);
    function challengeCount() external view returns (uint256);
    function disputeActivity(uint256 disputeId) external view returns (uint256 open, uint64 lastAnswerAt);
    function credits(address account) external view returns (uint256);
}
