// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IDisputeManager
/// @notice Interval disputes, pinpointing, on-chain chunk challenges and juror committees
/// (PROTOCOL.md §7.2–7.6, §10.2–10.7, §10.11, §10.12).
interface IDisputeManager {
    /// @dev Where a dispute stands. `Closed` is terminal.
    enum Phase {
        None,
        Pinpointing, // opened; the challenger must name one step before `deadline`
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
        Indeterminate,
        Void, // quorum missed maxRounds times
        ChallengerTimedOut, // no pinpoint in time
        Superseded, // an earlier commitment took the interval (§10.5)
        Moot // another dispute (or a chunk challenge) convicted the worker first
    }

    enum ChunkStatus {
        None,
        Open,
        Answered,
        TimedOut,
        Refunded
    }

    struct Dispute {
        uint256 jobId;
        address challenger;
        uint64 interval;
        uint64 commitBlock; // block of the challenger's commitment (earlier wins, §10.5)
        Phase phase;
        Ruling ruling; // current ruling (after a round) or the final one (Closed)
        uint8 round; // current committee round, 0-based
        uint8 failedRounds; // rounds that missed quorum
        uint8 appeals;
        uint64 deadline; // Pinpointing: pinpoint deadline
        uint64 step; // pinpointed global step j (S_j -> S_{j+1})
        uint64 randomnessBlock; // AwaitingDraw: target block of the draw
        uint64 commitEnd;
        uint64 revealEnd;
        uint64 appealEnd;
        uint8 decidingRound; // round that gave `ruling` (valid when `ruling` is 1..3)
        uint256 bond;
        uint256 jurorPot; // juror slashes and lost appeal bonds, paid to coherent jurors at the end
        bytes32 stepRoot; // stepRoot_i of the disputed interval
        bytes32 startStateHash; // stateHash_i of checkpoint leaf i (must equal step leaf 0)
        bytes32 endStateHash; // stateHash_{i+1} of checkpoint leaf i+1 (must equal step leaf k)
    }

    /// @dev Checkpoint leaf `(i, stateHash, stepRoot)` and its proof against the job's checkpoint root.
    struct CheckpointProof {
        bytes32 stateHash;
        bytes32 stepRoot;
        bytes32[] proof;
    }

    struct RoundInfo {
        address[] jurors;
        uint32 commits;
        uint32 reveals;
        uint32 quorum;
        uint32[4] counts; // counts[vote], vote 1..3
        Ruling ruling; // None when the round missed quorum
    }

    struct Vote {
        bool drawn;
        uint8 vote;
        bytes32 commitment;
    }

    struct Appeal {
        address appellant;
        Ruling appealed; // the ruling the appellant contested
        uint256 bond;
    }

    struct ChunkChallenge {
        uint256 disputeId;
        address challenger;
        ChunkStatus status;
        bool batch; // file is a batch of the data tree, else a state of the disputed interval
        uint64 deadline;
        uint64 chunkIndex;
        bytes32 fileHash;
        uint256 bond;
    }

    /// @dev Governance parameters; all amounts in the staking token, durations in seconds.
    struct Params {
        uint256 disputeBond;
        uint256 chunkBond;
        uint256 appealBond;
        uint256 jurorLock;
        uint256 incoherencePenalty; // <= jurorLock
        uint256 replayCost; // <= disputeBond; what a losing challenger pays the worker
        uint16 challengerBps; // shares of a slashed collateral; the rest is burned
        uint16 jurorBps;
        uint16 requesterBps;
        uint16 bondJurorBps; // share of a losing bond (after replayCost) to jurors; the rest is burned
        uint8 committeeSize; // M
        uint8 quorum; // reveals needed of M (scaled for larger rounds)
        uint8 maxRounds; // rounds that may miss quorum before the dispute is void
        uint8 maxAppeals;
        uint16 randomnessDelay; // blocks
        uint32 revealWindow; // seconds after the commit window (the commit window is the job's revealTimeout)
        uint32 appealWindow;
    }

    event ParamsUpdated(Params params);
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger, uint256 blockNumber);
    event DisputeOpened(
        uint256 indexed disputeId, uint256 indexed jobId, uint64 interval, address indexed challenger, uint256 bond,
        uint64 pinpointDeadline
    );
    event DisputeSuperseded(uint256 indexed disputeId, uint256 indexed byDisputeId);
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
    event RoundFailed(uint256 indexed disputeId, uint8 indexed round, uint32 reveals, uint32 quorum);
    event RulingGiven(uint256 indexed disputeId, uint8 indexed round, Ruling ruling, uint64 appealEnd);
    event Appealed(uint256 indexed disputeId, address indexed appellant, uint8 round, uint256 bond);
    event DisputeClosed(uint256 indexed disputeId, uint256 indexed jobId, Ruling ruling);
    event WorkerConvicted(
        uint256 indexed jobId, uint256 indexed disputeId, address indexed beneficiary, uint256 slashed,
        uint256 challengerShare, uint256 jurorShare, uint256 requesterShare, uint256 burned
    );
    event BondForfeited(uint256 indexed disputeId, uint256 workerShare, uint256 jurorShare, uint256 burned);
    event BoundaryMismatchProven(
        uint256 indexed disputeId, bool atEnd, bytes32 checkpointStateHash, bytes32 stepLeafStateHash
    );
    event ChunkChallenged(
        uint256 indexed challengeId, uint256 indexed disputeId, address indexed challenger, bytes32 fileHash,
        uint64 chunkIndex, bool batch, uint64 deadline
    );
    event ChunkAnswered(uint256 indexed challengeId, address indexed answerer, uint64 byteLength, uint64 chunkIndex);
    event ChunkChallengeExpired(uint256 indexed challengeId, bool convicted);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    error DisputeManagerInvalidParam(uint256 index);
    error DisputeManagerCommitmentExists(bytes32 commitment);
    error DisputeManagerCommitmentNotFound(bytes32 commitment);
    error DisputeManagerCommitmentTooRecent(bytes32 commitment, uint256 commitBlock);
    error DisputeManagerJobNotDisputable(uint256 jobId);
    error DisputeManagerInvalidInterval(uint256 jobId, uint64 interval);
    error DisputeManagerInvalidProof();
    error DisputeManagerIntervalDisputed(uint256 jobId, uint64 interval, uint256 activeDisputeId);
    error DisputeManagerWrongPhase(uint256 disputeId, Phase phase);
    error DisputeManagerNotChallenger(uint256 disputeId, address caller);
    error DisputeManagerNotParty(uint256 disputeId, address caller);
    error DisputeManagerDeadlinePassed(uint256 disputeId, uint256 deadline);
    error DisputeManagerDeadlineNotPassed(uint256 disputeId, uint256 deadline);
    error DisputeManagerInvalidStep(uint256 disputeId, uint64 localStep);
    error DisputeManagerStepAlreadyJudged(uint256 jobId, uint64 globalStep);
    error DisputeManagerRandomnessNotReady(uint256 disputeId, uint64 randomnessBlock);
    error DisputeManagerNotJuror(uint256 disputeId, address caller);
    error DisputeManagerAlreadyCommitted(uint256 disputeId, address juror);
    error DisputeManagerRevealNotOpen(uint256 disputeId);
    error DisputeManagerInvalidVote(uint8 vote);
    error DisputeManagerCommitmentMismatch(uint256 disputeId, address juror);
    error DisputeManagerVotingNotOver(uint256 disputeId, uint64 revealEnd);
    error DisputeManagerMaxAppealsReached(uint256 disputeId);
    error DisputeManagerChunkChallengesOpen(uint256 jobId);
    error DisputeManagerJobStillActive(uint256 jobId);
    error DisputeManagerJobNotActive(uint256 jobId);
    error DisputeManagerChunkNotOpen(uint256 challengeId);
    error DisputeManagerInvalidChunk(uint256 challengeId);
    error DisputeManagerNothingToWithdraw(address account);
    error DisputeManagerBoundaryConsistent(uint256 disputeId, bool atEnd);

    function commitChallenge(bytes32 commitment) external;
    function openDispute(
        uint256 jobId,
        uint64 interval,
        bytes32 salt,
        CheckpointProof calldata checkpoint,
        CheckpointProof calldata checkpointNext
    ) external returns (uint256 disputeId);
    function pinpoint(
        uint256 disputeId,
        uint64 localStep,
        bytes32 stateHash,
        bytes32[] calldata proof,
        bytes32 stateHashNext,
        bytes32[] calldata proofNext
    ) external;
    function timeoutPinpoint(uint256 disputeId) external;
    function proveBoundaryMismatch(uint256 disputeId, bool atEnd, bytes32 stateHash, bytes32[] calldata stepProof)
        external;
    function challengeChunk(
        uint256 disputeId,
        uint64 leafIndex,
        bytes32 stateHash,
        bytes32[] calldata stepProof,
        uint64 chunkIndex
    ) external returns (uint256 challengeId);
    function challengeBatchChunk(
        uint256 disputeId,
        uint64 batchIndex,
        bytes32 batchHash,
        bytes32[] calldata dataProof,
        uint64 chunkIndex
    ) external returns (uint256 challengeId);
    function answerChunk(uint256 challengeId, uint64 byteLength, bytes calldata chunk, bytes32[] calldata proof)
        external;
    function timeoutChunk(uint256 challengeId) external;
    function drawCommittee(uint256 disputeId) external;
    function commitVote(uint256 disputeId, bytes32 commitment) external;
    function revealVote(uint256 disputeId, uint8 vote, bytes32 salt) external;
    function resolve(uint256 disputeId) external;
    function appeal(uint256 disputeId) external;
    function finalizeRuling(uint256 disputeId) external;
    function closeMoot(uint256 disputeId) external;
    function withdraw() external;

    function getDispute(uint256 disputeId) external view returns (Dispute memory);
    function getRound(uint256 disputeId, uint256 round) external view returns (RoundInfo memory);
    function getVote(uint256 disputeId, uint256 round, address juror) external view returns (Vote memory);
    function getAppeal(uint256 disputeId, uint256 index) external view returns (Appeal memory);
    function getChunkChallenge(uint256 challengeId) external view returns (ChunkChallenge memory);
    function credits(address account) external view returns (uint256);
    function jurorLockId(uint256 disputeId, uint256 round) external view returns (bytes32);
    function activeDispute(uint256 jobId, uint64 interval) external view returns (uint256);
    function openChunkChallenges(uint256 jobId) external view returns (uint256);
    function committeeSizeAt(uint256 round) external view returns (uint256);
}
