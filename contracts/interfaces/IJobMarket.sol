// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IRandomness} from "./IRandomness.sol";
import {IAuditManager} from "./IAuditManager.sol";

/// @title IJobMarket
/// @notice Job escrow and lifecycle (PROTOCOL.md §5). The dispute hooks are DISPUTE_ROLE only.
interface IJobMarket {
    enum JobStatus {
        None,
        Open,
        Claimed,
        Submitted,
        Finalized,
        Rejected,
        Cancelled
    }

    struct CreateJobParams {
        IERC20 paymentToken;
        uint256 reward;
        uint256 verificationFee;
        uint256 collateral; // staking token, locked from the worker's free stake at claim
        uint64 totalSteps; // T
        uint64 checkpointInterval; // k, T % k == 0
        uint64 numBatches;
        uint64 flopsPerStep;
        uint64 stateBytes;
        bytes32 initialStateHash;
        bytes32 dataRoot;
        bytes32 specHash; // sha256 of the RFC 8785 manifest
        string specURI;
        uint64 claimDeadline; // unix time after which an Open job may no longer be claimed
        uint64 trainingDuration; // seconds from claim to the submission deadline
    }

    /// @notice A job as `getJob` returns it. Storage packs it differently (JobMarket `JobRecord`);
    /// the amounts fit 128 bits there.
    struct Job {
        address requester;
        address worker;
        IERC20 paymentToken;
        JobStatus status;
        uint256 reward;
        uint256 verificationFee;
        uint256 collateral;
        uint64 totalSteps;
        uint64 checkpointInterval;
        uint64 numBatches;
        uint64 flopsPerStep;
        uint64 stateBytes;
        uint64 claimDeadline;
        uint64 trainingDuration;
        uint64 submitDeadline;
        uint64 submittedAt;
        uint64 submittedBlock; // commitments count only when mined after it (v3 V2.1)
        uint64 windowEnd;
        uint64 createdAt; // creation time: a canary's epoch (v3 V11.1)
        uint32 openDisputes;
        uint32 refundedIntervals; // intervals whose reward share went back to the requester (v3 V5.2, V9.3)
        bytes32 initialStateHash;
        bytes32 dataRoot;
        bytes32 specHash;
        bytes32 checkpointRoot;
        bytes32 finalStateHash;
    }

    /// @notice Terms fixed at creation from the governance parameters of that moment (§10.8, §10.11),
    /// so later parameter changes never move a running job's deadlines or audit shape.
    struct JobTerms {
        uint64 challengeWindow; // seconds from submission to windowEnd
        uint32 revealTimeout; // juror reveal deadline (one step run twice, two states fetched)
        uint32 pinpointTimeout; // challenger names the faulty step (k steps replayed)
        uint32 answerTimeout; // worker serves the interval's k+1 states
        uint16 auditorsPerJob; // A
        uint16 samplesPerAuditor; // s
    }

    event JobCreated(
        uint256 indexed jobId, address indexed requester, address indexed paymentToken, uint256 reward,
        uint256 verificationFee, uint256 collateral, bytes32 specHash, string specURI
    );
    event JobCancelled(uint256 indexed jobId);
    event JobClaimed(uint256 indexed jobId, address indexed worker, uint64 submitDeadline);
    event ClaimExpired(uint256 indexed jobId, address indexed worker, uint256 penalty);
    event ResultSubmitted(
        uint256 indexed jobId, address indexed worker, bytes32 checkpointRoot, bytes32 finalStateHash,
        string resultURI, uint64 windowEnd
    );
    event JobFinalized(uint256 indexed jobId, address indexed worker, uint256 reward);
    event JobRejected(uint256 indexed jobId, address indexed worker);
    event Credited(address indexed token, address indexed account, uint256 amount);
    event CreditWithdrawn(address indexed token, address indexed account, uint256 amount);
    event JobDisputeOpened(uint256 indexed jobId, uint32 openDisputes);
    event JobDisputeClosed(uint256 indexed jobId, uint32 openDisputes);
    event IntervalRefunded(uint256 indexed jobId, uint256 amount, uint256 rewardLeft);

    function getJob(uint256 jobId) external view returns (Job memory);
    /// @notice What other contracts check of a job, from two storage slots instead of `getJob`'s
    /// twelve: its status, worker, window end and submission block.
    function jobState(uint256 jobId)
        external
        view
        returns (JobStatus status, address worker, uint64 windowEnd, uint64 submittedBlock);
    /// @notice The job's requester and worker.
    function jobParties(uint256 jobId) external view returns (address requester, address worker);
    /// @notice The job's T and k (one slot).
    function jobSteps(uint256 jobId) external view returns (uint64 totalSteps, uint64 checkpointInterval);
    /// @notice The job's audit shape A and s, fixed at creation (one slot).
    function jobAuditShape(uint256 jobId) external view returns (uint16 auditorsPerJob, uint16 samplesPerAuditor);
    /// @notice The AuditManager of assigned auditors.
    function auditManager() external view returns (IAuditManager);
    /// @notice Number of checkpoint leaves, T/k + 1.
    function checkpointCount(uint256 jobId) external view returns (uint256);
    /// @notice The randomness source of audit and jury draws.
    function randomness() external view returns (IRandomness);
    /// @notice Lock id of the job's collateral in the StakeManager.
    function collateralLockId(uint256 jobId) external view returns (bytes32);
    /// @notice Terms fixed at creation (challenge window, per-job timeouts, audit shape).
    function jobTerms(uint256 jobId) external view returns (JobTerms memory);
    /// @notice Seconds a challenger has to pinpoint the faulty step of a disputed interval (§10.11).
    function pinpointTimeout(uint256 jobId) external view returns (uint256);
    /// @notice Seconds the worker has to serve a disputed interval's states (§10.11).
    function answerTimeout(uint256 jobId) external view returns (uint256);
    /// @notice Seconds a juror has to reveal after the commit phase (§10.11).
    function revealTimeout(uint256 jobId) external view returns (uint256);

    /// @notice DISPUTE_ROLE: a dispute opened (or reopened) on `jobId` (Submitted).
    function onDisputeOpened(uint256 jobId) external;
    /// @notice DISPUTE_ROLE: a dispute on `jobId` closed without conviction.
    function onDisputeClosed(uint256 jobId) external;
    /// @notice DISPUTE_ROLE: the worker of `jobId` was convicted on interval `interval`
    /// (`type(uint256).max`: the conviction names no interval). Rejects the job, credits the
    /// requester the escrow, slashes the collateral to `slashRecipient` and tells the AuditManager
    /// the interval (v3 V11.2); returns the amount slashed.
    function onWorkerConvicted(uint256 jobId, address slashRecipient, uint256 interval) external returns (uint256 slashed);
    /// @notice DISPUTE_ROLE: one interval's share of the remaining reward goes back to the requester
    /// (no committee could be drawn, or every pinpointed step was Indeterminate).
    function onIntervalRefunded(uint256 jobId) external;
}
