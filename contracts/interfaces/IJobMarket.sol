// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IRandomness} from "./IRandomness.sol";
import {IAuditManager} from "./IAuditManager.sol";
import {IDisputeManager} from "./IDisputeManager.sol";

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

    // ───────────── events and errors (the implementation emits and reverts with these) ─────────────
    event AuditManagerSet(address indexed auditManager);
    event DisputeManagerSet(address indexed disputeManager);
    event PaymentTokenAllowed(address indexed token, bool allowed);
    event ChallengeWindowSet(uint64 challengeWindow);
    event AuditParamsSet(uint16 auditorsPerJob, uint16 samplesPerAuditor, uint16 hostileAuditorBps);
    event CollateralParamsSet(uint32 minCollateralBps, uint16 livenessPenaltyBps);
    event TimeoutParamsSet(uint32 timeoutBase, uint64 refFlopsPerSecond, uint64 refBytesPerSecond);
    error JobMarketZeroAddress();
    error JobMarketAuditManagerAlreadySet(address current);
    error JobMarketAuditManagerNotSet();
    error JobMarketDisputeManagerAlreadySet(address current);
    error JobMarketDisputeManagerNotSet();
    error JobMarketReopenPending(uint256 jobId, uint64 until);
    error JobMarketChallengesOpen(uint256 jobId, uint256 open);
    error JobMarketTokenNotAllowed(address token);
    error JobMarketZeroReward();
    error JobMarketAmountTooLarge(uint256 reward, uint256 verificationFee, uint256 collateral, uint256 max);
    error JobMarketInvalidSteps(uint64 totalSteps, uint64 checkpointInterval);
    error JobMarketTooManyCheckpoints(uint256 count, uint256 max);
    error JobMarketZeroBatches();
    error JobMarketInvalidWorkload(uint64 flopsPerStep, uint64 stateBytes);
    error JobMarketInvalidClaimDeadline(uint64 claimDeadline);
    error JobMarketInvalidTrainingDuration(uint64 trainingDuration);
    error JobMarketTimeoutTooLong(uint256 timeout, uint256 max);
    error JobMarketCollateralTooLow(uint256 collateral, uint256 required);
    error JobMarketFeeOnTransfer(uint256 expected, uint256 received);
    error JobMarketWrongStatus(uint256 jobId, JobStatus status);
    error JobMarketNotRequester(uint256 jobId, address caller);
    error JobMarketNotWorker(uint256 jobId, address caller);
    error JobMarketClaimDeadlinePassed(uint256 jobId, uint64 claimDeadline);
    error JobMarketInsufficientStake(address worker, uint256 free, uint256 collateral);
    error JobMarketSubmitDeadlineNotPassed(uint256 jobId, uint64 submitDeadline);
    error JobMarketSubmitDeadlinePassed(uint256 jobId, uint64 submitDeadline);
    error JobMarketInvalidProof(uint256 jobId, uint256 index);
    error JobMarketWindowOpen(uint256 jobId, uint64 windowEnd);
    error JobMarketDisputesOpen(uint256 jobId, uint32 openDisputes);
    error JobMarketNoOpenDispute(uint256 jobId);
    error JobMarketNothingToWithdraw(address token, address account);
    error JobMarketInvalidChallengeWindow(uint64 challengeWindow);
    error JobMarketInvalidAuditParams(uint16 auditorsPerJob, uint16 samplesPerAuditor, uint16 hostileAuditorBps);
    error JobMarketInvalidCollateralParams(uint32 minCollateralBps, uint16 livenessPenaltyBps);
    error JobMarketInvalidTimeoutParams(uint32 timeoutBase, uint64 refFlopsPerSecond, uint64 refBytesPerSecond);

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
    /// @notice The job's verification-fee settlement terms, for the AuditManager (four slots): its
    /// requester, payment token, window end and verification fee (fixed once submitted).
    function jobFee(uint256 jobId)
        external
        view
        returns (address requester, IERC20 paymentToken, uint64 windowEnd, uint128 verificationFee);
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

    /// @notice Minimum collateral for `reward` under the current audit parameters (§10.9): the
    /// floor `minCollateralBps` of the reward, and for every faked fraction f on the grid
    /// {1,2,5,10,20,50,100}% `f·reward < P(f)·(reward + collateral)` with
    /// `P(f) = 1 − [w + (1−w)(1−f)^s]^A`, computed in 1e18 fixed point rounding against the worker.
    /// Only what the worker cannot recover counts (v3 V4.3): its own second account may take the
    /// challenger's share, so the penalty is `collateral × (1 − challengerBps)`.
    function requiredCollateral(uint256 reward) external view returns (uint256);
    /// @notice Escrows `reward + verificationFee` of `p.paymentToken` and opens a job.
    /// @dev Emits {JobCreated}. Requirements: not paused; audit manager set; token allow-listed;
    /// reward > 0; reward, fee and collateral ≤ 2^128 − 1; T > 0, k > 0, T % k == 0, T/k + 1 ≤
    /// MAX_CHECKPOINTS; numBatches > 0; flopsPerStep and stateBytes > 0; now < claimDeadline ≤
    /// now + MAX_CLAIM_PERIOD; 0 < trainingDuration ≤
    /// MAX_TRAINING_DURATION; derived timeouts ≤ MAX_TIMEOUT; collateral ≥ requiredCollateral(reward);
    /// the dispute manager accepts the terms (`IDisputeManager.checkJobTerms`: the juror lock covers
    /// the collateral, squatting costs more than the bounty) and the data availability accepts the
    /// state size (`IDataAvailability.checkJobTerms`, V1.7); the full amount arrives (fee-on-transfer
    /// tokens are refused).
    function createJob(CreateJobParams calldata p) external returns (uint256 jobId);
    /// @notice Cancels an Open job; the escrow becomes withdrawable by the requester.
    /// @dev Emits {JobCancelled}, {Credited}. Requirements: caller is the requester; job Open
    /// (also after its claim deadline).
    function cancelJob(uint256 jobId) external;
    /// @notice Claims an Open job and locks its collateral from the caller's free stake.
    /// @dev Emits {JobClaimed}. Requirements: not paused; job Open; now ≤ claimDeadline; the caller's
    /// free stake ≥ collateral.
    function claimJob(uint256 jobId) external;
    /// @notice Re-opens a claimed job whose worker missed the submission deadline. Anyone may call.
    /// `livenessPenaltyBps` of the collateral goes to the requester (staking token credit), the rest
    /// is unlocked.
    /// @dev Emits {ClaimExpired}, {Credited} (when the penalty > 0). Requirements: job Claimed;
    /// now > submitDeadline.
    function expireClaim(uint256 jobId) external;
    /// @notice Commits the trained trajectory: the checkpoint root, with proofs that leaf 0 holds the
    /// job's initial state (and `stepRoot0`) and leaf n−1 the claimed final state (step root 0).
    /// @dev Emits {ResultSubmitted}. Requirements: caller is the worker; job Claimed; now ≤
    /// submitDeadline; both proofs verify against `checkpointRoot` with n = T/k + 1 leaves.
    function submitResult( uint256 jobId, bytes32 checkpointRoot, bytes32 finalStateHash, string calldata resultURI, bytes32 stepRoot0, bytes32[] calldata proof0, bytes32[] calldata proofLast ) external;
    /// @notice Pays a submitted job whose challenge window ended with no dispute open. Anyone may call.
    /// The worker is credited the reward, its collateral unlocked, and the verification fee handed to
    /// the AuditManager for the attesters.
    /// @dev Emits {JobFinalized}, {Credited}. Requirements: job Submitted; now > windowEnd; no live
    /// dispute, no open availability challenge and no pending reopening of a voided interval (v3 V2.3).
    function finalize(uint256 jobId) external;
    /// @notice Withdraws the caller's whole credit in `token` (pull payments).
    /// @dev Emits {CreditWithdrawn}. Requirements: credit > 0.
    function withdraw(address token) external;
    /// @notice Sets the DisputeManager once (it is deployed after this contract).
    /// @dev Emits {DisputeManagerSet}. Requirements: GOVERNOR_ROLE; not set yet; non-zero.
    function setDisputeManager(IDisputeManager disputeManager_) external;
    /// @notice Sets the AuditManager once (when the constructor got zero).
    /// @dev Emits {AuditManagerSet}. Requirements: GOVERNOR_ROLE; not set yet; non-zero.
    function setAuditManager(IAuditManager auditManager_) external;
    /// @notice Allows or forbids `token` as payment for new jobs (running jobs are unaffected).
    /// @dev Emits {PaymentTokenAllowed}. Requirements: GOVERNOR_ROLE; non-zero token.
    function setTokenAllowed(IERC20 token, bool allowed) external;
    /// @notice Challenge window for jobs created from now on.
    /// @dev Emits {ChallengeWindowSet}. Requirements: GOVERNOR_ROLE; MIN_ ≤ window ≤ MAX_CHALLENGE_WINDOW.
    function setChallengeWindow(uint64 window) external;
    /// @notice Audit shape for jobs created from now on, and the hostile share used by §10.9.
    /// @dev Emits {AuditParamsSet}. Requirements: GOVERNOR_ROLE; 1 ≤ A ≤ MAX_AUDITORS;
    /// 1 ≤ s ≤ MAX_SAMPLES; w ≤ MAX_HOSTILE_BPS.
    function setAuditParams(uint16 auditors, uint16 samples, uint16 hostileBps) external;
    /// @notice Collateral floor (bps of reward) and expired-claim penalty (bps of collateral).
    /// @dev Emits {CollateralParamsSet}. Requirements: GOVERNOR_ROLE; floor ≤ MAX_MIN_COLLATERAL_BPS;
    /// penalty ≤ MAX_LIVENESS_PENALTY_BPS.
    function setCollateralParams(uint32 minBps, uint16 penaltyBps) external;
    /// @notice §10.11 reference rates for the per-job timeouts of jobs created from now on.
    /// @dev Emits {TimeoutParamsSet}. Requirements: GOVERNOR_ROLE; 1 minute ≤ base ≤ 7 days;
    /// 1e6 ≤ refFlops ≤ 1e18; 1e3 ≤ refBytes ≤ 1e12 (per second).
    function setTimeoutParams(uint32 base, uint64 refFlops, uint64 refBytes) external;
    /// @notice Stops `createJob` and `claimJob`; everything else keeps running so no funds are trapped.
    /// @dev Emits {Paused}. Requirements: GOVERNOR_ROLE; not paused.
    function pause() external;
    /// @notice Resumes `createJob` and `claimJob`.
    /// @dev Emits {Unpaused}. Requirements: GOVERNOR_ROLE; paused.
    function unpause() external;
}
