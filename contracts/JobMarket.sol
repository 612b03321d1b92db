// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {IRandomness} from "./interfaces/IRandomness.sol";
import {IAuditManager} from "./interfaces/IAuditManager.sol";
import {IDisputeManager} from "./interfaces/IDisputeManager.sol";
import {UPowHashing} from "./lib/UPowHashing.sol";
import {BPS, MAX_TIMEOUT} from "./lib/UPowConstants.sol";

/// @title JobMarket
/// @notice Escrow and lifecycle of training jobs (PROTOCOL.md §5, §10.8–§10.12).
/// @dev Construction order: StakeManager, Randomness, JobMarket (auditManager may be zero),
/// AuditManager(jobMarket), then `setAuditManager` once. The audit manager can be set only once:
/// replacing it would strand the auditor locks held by the old one. `createJob` requires it set.
///
/// An Open job whose claim deadline passed can no longer be claimed; only its requester can cancel
/// it. No one else has funds in an Open job, so nothing is trapped by waiting (§8).
///
/// The AuditManager draws auditors from `randomness`, seeded in the epoch of the submission (v3 V3.2);
/// if nobody draws them within the window, the whole verification fee goes back to the requester at
/// finalization; the job itself is unaffected.
contract JobMarket is IJobMarket, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    bytes32 public constant DISPUTE_ROLE = keccak256("DISPUTE_ROLE");

    uint256 internal constant ONE = 1e18;
    /// @notice Upper bound on T/k + 1 (checkpoint leaves).
    uint256 public constant MAX_CHECKPOINTS = 1 << 20;
    uint256 public constant MAX_CLAIM_PERIOD = 365 days;
    uint256 public constant MAX_TRAINING_DURATION = 365 days;
    uint256 public constant MIN_CHALLENGE_WINDOW = 10 minutes;
    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;
    uint256 public constant MAX_AUDITORS = 32;
    uint256 public constant MAX_SAMPLES = 32;
    uint256 public constant MAX_HOSTILE_BPS = 5_000;
    uint256 public constant MAX_MIN_COLLATERAL_BPS = 1_000_000;
    uint256 public constant MAX_LIVENESS_PENALTY_BPS = 5_000;

    IStakeManager public immutable stakeManager;
    IRandomness public immutable randomness;
    IAuditManager public auditManager;
    /// @notice Checks job terms at creation (v3 V2.4, V6.2) and holds finalization (V2.3).
    IDisputeManager public disputeManager;

    /// @notice Challenge window given to jobs created from now on.
    uint64 public challengeWindow;
    /// @notice Assigned auditors A, samples per auditor s, assumed hostile auditor share w (bps).
    uint16 public auditorsPerJob;
    uint16 public samplesPerAuditor;
    uint16 public hostileAuditorBps;
    /// @notice Collateral floor as bps of the reward, and the expired-claim penalty as bps of collateral.
    uint32 public minCollateralBps;
    uint16 public livenessPenaltyBps;
    /// @notice §10.11 reference rates: timeout = base + work / refFlopsPerSecond + bytes / refBytesPerSecond.
    uint32 public timeoutBase;
    uint64 public refFlopsPerSecond;
    uint64 public refBytesPerSecond;
    /// @dev The §10.9 grid point with the largest f/P(f) under the current audit parameters (1e18
    /// fixed point), recomputed when they change: it alone binds (see `requiredCollateral`).
    uint64 private _bindingF;
    uint64 private _bindingP;

    /// @dev Storage form of a job and its terms (issue 17): 12 slots, creation makes slots 0–6
    /// non-zero so that claim, submission and finalization only update them. Widths are the bounds:
    /// amounts ≤ 2^128 − 1 (checked), A and s ≤ 32, trainingDuration ≤ 365 days, challengeWindow
    /// and timeouts ≤ 30 days. The pinpoint and answer timeouts are one value (§10.11: both cover the
    /// interval's k steps and k+1 states). `getJob` and `jobTerms` widen it to the API structs.
    struct JobRecord {
        address requester; // slot 0
        uint64 createdAt; // creation time: a canary's epoch (v3 V11.1)
        uint32 openDisputes;
        IERC20 paymentToken; // slot 1
        uint64 claimDeadline;
        uint32 refundedIntervals; // intervals whose reward share went back to the requester (v3 V5.2, V9.3)
        address worker; // slot 2: jobState, jobAuditShape
        uint64 windowEnd;
        JobStatus status;
        uint8 auditorsPerJob;
        uint8 samplesPerAuditor;
        uint128 reward; // slot 3
        uint128 verificationFee;
        uint128 collateral; // slot 4
        uint32 trainingDuration;
        uint32 challengeWindow;
        uint64 submitDeadline;
        uint64 totalSteps; // slot 5
        uint64 checkpointInterval;
        uint64 numBatches;
        uint64 flopsPerStep;
        uint64 stateBytes; // slot 6
        uint64 submittedAt;
        uint64 submittedBlock; // commitments count only when mined after it (v3 V2.1)
        uint32 revealTimeout;
        uint32 intervalTimeout;
        bytes32 initialStateHash;
        bytes32 dataRoot;
        bytes32 specHash;
        bytes32 checkpointRoot;
        bytes32 finalStateHash;
    }

    /// @notice Id of the next job (beside the parameters createJob reads: no slot of its own).
    uint64 public nextJobId = 1;
    mapping(IERC20 token => bool) public tokenAllowed;
    mapping(address token => mapping(address account => uint256)) public credits;
    mapping(uint256 jobId => JobRecord) private _jobs;

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE.
    /// @param auditManager_ may be zero, then set once with `setAuditManager`.
    constructor(address admin, IStakeManager stakeManager_, IRandomness randomness_, IAuditManager auditManager_) {
        if (admin == address(0) || address(stakeManager_) == address(0) || address(randomness_) == address(0)) {
            revert JobMarketZeroAddress();
        }
        stakeManager = stakeManager_;
        randomness = randomness_;
        if (address(auditManager_) != address(0)) _setAuditManager(auditManager_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _setChallengeWindow(1 days);
        _setAuditParams(4, 8, 3_000);
        _setCollateralParams(10_000, 1_000);
        _setTimeoutParams(1 hours, 1e9, 10e6);
    }

    // ───────────────────────────── views ─────────────────────────────

    /// @inheritdoc IJobMarket
    function getJob(uint256 jobId) external view returns (Job memory) {
        JobRecord storage r = _jobs[jobId];
        return Job({
            requester: r.requester,
            worker: r.worker,
            paymentToken: r.paymentToken,
            status: r.status,
            reward: r.reward,
            verificationFee: r.verificationFee,
            collateral: r.collateral,
            totalSteps: r.totalSteps,
            checkpointInterval: r.checkpointInterval,
            numBatches: r.numBatches,
            flopsPerStep: r.flopsPerStep,
            stateBytes: r.stateBytes,
            claimDeadline: r.claimDeadline,
            trainingDuration: r.trainingDuration,
            submitDeadline: r.submitDeadline,
            submittedAt: r.submittedAt,
            submittedBlock: r.submittedBlock,
            windowEnd: r.windowEnd,
            createdAt: r.createdAt,
            openDisputes: r.openDisputes,
            refundedIntervals: r.refundedIntervals,
            initialStateHash: r.initialStateHash,
            dataRoot: r.dataRoot,
            specHash: r.specHash,
            checkpointRoot: r.checkpointRoot,
            finalStateHash: r.finalStateHash
        });
    }

    /// @inheritdoc IJobMarket
    function jobState(uint256 jobId)
        external
        view
        returns (JobStatus status, address worker, uint64 windowEnd, uint64 submittedBlock)
    {
        JobRecord storage job = _jobs[jobId];
        return (job.status, job.worker, job.windowEnd, job.submittedBlock);
    }

    /// @inheritdoc IJobMarket
    function jobParties(uint256 jobId) external view returns (address requester, address worker) {
        JobRecord storage job = _jobs[jobId];
        return (job.requester, job.worker);
    }

    /// @inheritdoc IJobMarket
    function jobFee(uint256 jobId)
        external
        view
        returns (address requester, IERC20 paymentToken, uint64 windowEnd, uint128 verificationFee)
    {
        JobRecord storage job = _jobs[jobId];
        return (job.requester, job.paymentToken, job.windowEnd, job.verificationFee);
    }

    /// @inheritdoc IJobMarket
    function jobSteps(uint256 jobId) external view returns (uint64 totalSteps, uint64 checkpointInterval) {
        JobRecord storage job = _jobs[jobId];
        return (job.totalSteps, job.checkpointInterval);
    }

    /// @inheritdoc IJobMarket
    function jobAuditShape(uint256 jobId) external view returns (uint16, uint16) {
        JobRecord storage job = _jobs[jobId];
        return (job.auditorsPerJob, job.samplesPerAuditor);
    }

    /// @inheritdoc IJobMarket
    function jobTerms(uint256 jobId) external view returns (JobTerms memory) {
        JobRecord storage job = _jobs[jobId];
        return JobTerms({
            challengeWindow: job.challengeWindow,
            revealTimeout: job.revealTimeout,
            pinpointTimeout: job.intervalTimeout,
            answerTimeout: job.intervalTimeout,
            auditorsPerJob: job.auditorsPerJob,
            samplesPerAuditor: job.samplesPerAuditor
        });
    }

    /// @inheritdoc IJobMarket
    function checkpointCount(uint256 jobId) public view returns (uint256) {
        JobRecord storage job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobMarketWrongStatus(jobId, JobStatus.None);
        return job.totalSteps / job.checkpointInterval + 1;
    }

    /// @inheritdoc IJobMarket
    function collateralLockId(uint256 jobId) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), jobId));
    }

    /// @inheritdoc IJobMarket
    function pinpointTimeout(uint256 jobId) external view returns (uint256) {
        return _jobs[jobId].intervalTimeout;
    }

    /// @inheritdoc IJobMarket
    function answerTimeout(uint256 jobId) external view returns (uint256) {
        return _jobs[jobId].intervalTimeout;
    }

    /// @inheritdoc IJobMarket
    function revealTimeout(uint256 jobId) external view returns (uint256) {
        return _jobs[jobId].revealTimeout;
    }

    /// @inheritdoc IJobMarket
    function requiredCollateral(uint256 reward) public view returns (uint256) {
        if (address(disputeManager) == address(0)) revert JobMarketDisputeManagerNotSet();
        return _requiredCollateral(reward, disputeManager.params().challengerBps);
    }

    // ─────────────────────────── lifecycle ───────────────────────────

    /// @inheritdoc IJobMarket
    function createJob(CreateJobParams calldata p) external nonReentrant whenNotPaused returns (uint256 jobId) {
        if (address(auditManager) == address(0)) revert JobMarketAuditManagerNotSet();
        if (address(disputeManager) == address(0)) revert JobMarketDisputeManagerNotSet();
        if (!tokenAllowed[p.paymentToken]) revert JobMarketTokenNotAllowed(address(p.paymentToken));
        if (p.reward == 0) revert JobMarketZeroReward();
        if ((p.reward | p.verificationFee | p.collateral) > type(uint128).max) {
            revert JobMarketAmountTooLarge(p.reward, p.verificationFee, p.collateral, type(uint128).max);
        }
        if (p.totalSteps == 0 || p.checkpointInterval == 0 || p.totalSteps % p.checkpointInterval != 0) {
            revert JobMarketInvalidSteps(p.totalSteps, p.checkpointInterval);
        }
        uint256 n = p.totalSteps / p.checkpointInterval + 1;
        if (n > MAX_CHECKPOINTS) revert JobMarketTooManyCheckpoints(n, MAX_CHECKPOINTS);
        if (p.numBatches == 0) revert JobMarketZeroBatches();
        if (p.flopsPerStep == 0 || p.stateBytes == 0) revert JobMarketInvalidWorkload(p.flopsPerStep, p.stateBytes);
        if (p.claimDeadline <= block.timestamp || p.claimDeadline > block.timestamp + MAX_CLAIM_PERIOD) {
            revert JobMarketInvalidClaimDeadline(p.claimDeadline);
        }
        if (p.trainingDuration == 0 || p.trainingDuration > MAX_TRAINING_DURATION) {
            revert JobMarketInvalidTrainingDuration(p.trainingDuration);
        }
        JobTerms memory terms = _deriveTerms(p.checkpointInterval, p.flopsPerStep, p.stateBytes);
        IDisputeManager dm = disputeManager;
        dm.checkJobTerms(p.collateral, terms.challengeWindow, terms.answerTimeout, terms.pinpointTimeout);
        // After checkJobTerms, which read the same parameters: params() now touches only warm slots.
        uint256 required = _requiredCollateral(p.reward, dm.params().challengerBps);
        if (p.collateral < required) revert JobMarketCollateralTooLow(p.collateral, required);
        dm.dataAvailability().checkJobTerms(p.checkpointInterval, p.stateBytes);

        jobId = nextJobId++;
        JobRecord storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.paymentToken = p.paymentToken;
        job.status = JobStatus.Open;
        job.reward = uint128(p.reward);
        job.verificationFee = uint128(p.verificationFee);
        job.collateral = uint128(p.collateral);
        job.totalSteps = p.totalSteps;
        job.checkpointInterval = p.checkpointInterval;
        job.numBatches = p.numBatches;
        job.flopsPerStep = p.flopsPerStep;
        job.stateBytes = p.stateBytes;
        job.claimDeadline = p.claimDeadline;
        job.trainingDuration = uint32(p.trainingDuration);
        job.createdAt = uint64(block.timestamp);
        job.challengeWindow = uint32(terms.challengeWindow);
        job.auditorsPerJob = uint8(terms.auditorsPerJob);
        job.samplesPerAuditor = uint8(terms.samplesPerAuditor);
        job.revealTimeout = terms.revealTimeout;
        job.intervalTimeout = terms.answerTimeout;
        job.initialStateHash = p.initialStateHash;
        job.dataRoot = p.dataRoot;
        job.specHash = p.specHash;

        emit JobCreated(
            jobId, msg.sender, address(p.paymentToken), p.reward, p.verificationFee, p.collateral, p.specHash, p.specURI
        );

        // Interaction last; the token is allow-listed but still untrusted code (nonReentrant).
        uint256 expected = p.reward + p.verificationFee;
        uint256 before = p.paymentToken.balanceOf(address(this));
        p.paymentToken.safeTransferFrom(msg.sender, address(this), expected);
        uint256 received = p.paymentToken.balanceOf(address(this)) - before;
        if (received != expected) revert JobMarketFeeOnTransfer(expected, received);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(uint256 jobId) external {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Open) revert JobMarketWrongStatus(jobId, job.status);
        if (msg.sender != job.requester) revert JobMarketNotRequester(jobId, msg.sender);
        job.status = JobStatus.Cancelled;
        emit JobCancelled(jobId);
        // Widened: reward and fee each fit 128 bits, their sum need not.
        _credit(address(job.paymentToken), job.requester, uint256(job.reward) + job.verificationFee);
    }

    /// @inheritdoc IJobMarket
    function claimJob(uint256 jobId) external whenNotPaused {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Open) revert JobMarketWrongStatus(jobId, job.status);
        if (block.timestamp > job.claimDeadline) revert JobMarketClaimDeadlinePassed(jobId, job.claimDeadline);
        uint256 free = stakeManager.freeStake(msg.sender);
        if (free < job.collateral) revert JobMarketInsufficientStake(msg.sender, free, job.collateral);
        uint64 submitDeadline = uint64(block.timestamp) + job.trainingDuration;
        job.status = JobStatus.Claimed;
        job.worker = msg.sender;
        job.submitDeadline = submitDeadline;
        emit JobClaimed(jobId, msg.sender, submitDeadline);
        // Trusted module call (StakeManager, bookkeeping only, no token moves); after all effects.
        stakeManager.lock(msg.sender, collateralLockId(jobId), job.collateral);
    }

    /// @inheritdoc IJobMarket
    function expireClaim(uint256 jobId) external nonReentrant {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Claimed) revert JobMarketWrongStatus(jobId, job.status);
        if (block.timestamp <= job.submitDeadline) {
            revert JobMarketSubmitDeadlineNotPassed(jobId, job.submitDeadline);
        }
        address worker = job.worker;
        job.status = JobStatus.Open;
        job.worker = address(0);
        job.submitDeadline = 0;
        bytes32 lockId = collateralLockId(jobId);
        uint256 penalty = (uint256(job.collateral) * livenessPenaltyBps) / BPS;
        if (penalty > 0) {
            penalty = stakeManager.slash(worker, lockId, penalty, address(this));
            _credit(address(stakeManager.stakingToken()), job.requester, penalty);
        }
        stakeManager.unlock(worker, lockId);
        emit ClaimExpired(jobId, worker, penalty);
    }

    /// @inheritdoc IJobMarket
    function submitResult(
        uint256 jobId,
        bytes32 checkpointRoot,
        bytes32 finalStateHash,
        string calldata resultURI,
        bytes32 stepRoot0,
        bytes32[] calldata proof0,
        bytes32[] calldata proofLast
    ) external {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Claimed) revert JobMarketWrongStatus(jobId, job.status);
        if (msg.sender != job.worker) revert JobMarketNotWorker(jobId, msg.sender);
        if (block.timestamp > job.submitDeadline) revert JobMarketSubmitDeadlinePassed(jobId, job.submitDeadline);
        _checkEnds(jobId, job, checkpointRoot, finalStateHash, stepRoot0, proof0, proofLast);
        uint64 windowEnd = uint64(block.timestamp) + job.challengeWindow;
        job.status = JobStatus.Submitted;
        job.checkpointRoot = checkpointRoot;
        job.finalStateHash = finalStateHash;
        job.submittedAt = uint64(block.timestamp);
        job.submittedBlock = uint64(block.number);
        job.windowEnd = windowEnd;
        emit ResultSubmitted(jobId, msg.sender, checkpointRoot, finalStateHash, resultURI, windowEnd);
        // Trusted AuditManager (set once by governance): schedules the auditor draw's seed.
        auditManager.onJobSubmitted(jobId);
    }

    /// @inheritdoc IJobMarket
    function finalize(uint256 jobId) external nonReentrant {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Submitted) revert JobMarketWrongStatus(jobId, job.status);
        if (block.timestamp <= job.windowEnd) revert JobMarketWindowOpen(jobId, job.windowEnd);
        if (job.openDisputes != 0) revert JobMarketDisputesOpen(jobId, job.openDisputes);
        IDisputeManager dm = disputeManager;
        uint64 hold = dm.reopenHold(jobId);
        if (block.timestamp <= hold) revert JobMarketReopenPending(jobId, hold);
        uint256 open = dm.dataAvailability().openChallenges(jobId);
        if (open != 0) revert JobMarketChallengesOpen(jobId, open);
        job.status = JobStatus.Finalized;
        address worker = job.worker;
        emit JobFinalized(jobId, worker, job.reward);
        _credit(address(job.paymentToken), worker, job.reward);
        stakeManager.unlock(worker, collateralLockId(jobId));
        // The fee leaves the escrow for the AuditManager, which records it for the attesters.
        IAuditManager am = auditManager;
        job.paymentToken.safeTransfer(address(am), job.verificationFee);
        am.onJobFinalized(jobId, job.paymentToken, job.verificationFee, job.requester);
    }

    /// @inheritdoc IJobMarket
    function withdraw(address token) external nonReentrant {
        uint256 amount = credits[token][msg.sender];
        if (amount == 0) revert JobMarketNothingToWithdraw(token, msg.sender);
        credits[token][msg.sender] = 0;
        emit CreditWithdrawn(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ───────────────────────── dispute hooks ─────────────────────────

    /// @inheritdoc IJobMarket
    /// @dev The DisputeManager enforces the window (and its reopening rule). Emits {JobDisputeOpened}.
    /// Requirements: DISPUTE_ROLE; job Submitted.
    function onDisputeOpened(uint256 jobId) external onlyRole(DISPUTE_ROLE) {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Submitted) revert JobMarketWrongStatus(jobId, job.status);
        emit JobDisputeOpened(jobId, ++job.openDisputes);
    }

    /// @inheritdoc IJobMarket
    /// @dev Works in any status (the DisputeManager closes a convicted job's other disputes, and may
    /// close the convicting one); the counter only gates `finalize`.
    /// Emits {JobDisputeClosed}. Requirements: DISPUTE_ROLE; a dispute is open on the job.
    function onDisputeClosed(uint256 jobId) external onlyRole(DISPUTE_ROLE) {
        JobRecord storage job = _jobs[jobId];
        if (job.openDisputes == 0) revert JobMarketNoOpenDispute(jobId);
        emit JobDisputeClosed(jobId, --job.openDisputes);
    }

    /// @inheritdoc IJobMarket
    /// @dev Emits {JobRejected}, {Credited}. Requirements: DISPUTE_ROLE; job Submitted.
    function onWorkerConvicted(uint256 jobId, address slashRecipient, uint256 interval)
        external
        nonReentrant
        onlyRole(DISPUTE_ROLE)
        returns (uint256 slashed)
    {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Submitted) revert JobMarketWrongStatus(jobId, job.status);
        job.status = JobStatus.Rejected;
        emit JobRejected(jobId, job.worker);
        // Widened: reward and fee each fit 128 bits, their sum need not.
        _credit(address(job.paymentToken), job.requester, uint256(job.reward) + job.verificationFee);
        slashed = stakeManager.slash(job.worker, collateralLockId(jobId), job.collateral, slashRecipient);
        auditManager.onJobRejected(jobId, interval);
    }

    /// @inheritdoc IJobMarket
    /// @dev The share is the remaining reward divided by the intervals not yet refunded, so the shares
    /// sum exactly to the reward. Emits {IntervalRefunded}, {Credited}. Requirements: DISPUTE_ROLE;
    /// job Submitted.
    function onIntervalRefunded(uint256 jobId) external onlyRole(DISPUTE_ROLE) {
        JobRecord storage job = _jobs[jobId];
        if (job.status != JobStatus.Submitted) revert JobMarketWrongStatus(jobId, job.status);
        uint256 intervals = job.totalSteps / job.checkpointInterval;
        uint256 share = job.reward / (intervals - job.refundedIntervals);
        ++job.refundedIntervals;
        job.reward -= uint128(share); // share ≤ reward
        emit IntervalRefunded(jobId, share, job.reward);
        _credit(address(job.paymentToken), job.requester, share);
    }

    // ─────────────────────────── governance ──────────────────────────

    /// @inheritdoc IJobMarket
    function setDisputeManager(IDisputeManager disputeManager_) external onlyRole(GOVERNOR_ROLE) {
        if (address(disputeManager) != address(0)) revert JobMarketDisputeManagerAlreadySet(address(disputeManager));
        if (address(disputeManager_) == address(0)) revert JobMarketZeroAddress();
        disputeManager = disputeManager_;
        emit DisputeManagerSet(address(disputeManager_));
    }

    /// @inheritdoc IJobMarket
    function setAuditManager(IAuditManager auditManager_) external onlyRole(GOVERNOR_ROLE) {
        if (address(auditManager) != address(0)) revert JobMarketAuditManagerAlreadySet(address(auditManager));
        if (address(auditManager_) == address(0)) revert JobMarketZeroAddress();
        _setAuditManager(auditManager_);
    }

    /// @inheritdoc IJobMarket
    function setTokenAllowed(IERC20 token, bool allowed) external onlyRole(GOVERNOR_ROLE) {
        if (address(token) == address(0)) revert JobMarketZeroAddress();
        tokenAllowed[token] = allowed;
        emit PaymentTokenAllowed(address(token), allowed);
    }

    /// @inheritdoc IJobMarket
    function setChallengeWindow(uint64 window) external onlyRole(GOVERNOR_ROLE) {
        _setChallengeWindow(window);
    }

    /// @inheritdoc IJobMarket
    function setAuditParams(uint16 auditors, uint16 samples, uint16 hostileBps) external onlyRole(GOVERNOR_ROLE) {
        _setAuditParams(auditors, samples, hostileBps);
    }

    /// @inheritdoc IJobMarket
    function setCollateralParams(uint32 minBps, uint16 penaltyBps) external onlyRole(GOVERNOR_ROLE) {
        _setCollateralParams(minBps, penaltyBps);
    }

    /// @inheritdoc IJobMarket
    function setTimeoutParams(uint32 base, uint64 refFlops, uint64 refBytes) external onlyRole(GOVERNOR_ROLE) {
        _setTimeoutParams(base, refFlops, refBytes);
    }

    /// @inheritdoc IJobMarket
    function pause() external onlyRole(GOVERNOR_ROLE) {
        _pause();
    }

    /// @inheritdoc IJobMarket
    function unpause() external onlyRole(GOVERNOR_ROLE) {
        _unpause();
    }

    // ─────────────────────────── internals ───────────────────────────

    function _credit(address token, address account, uint256 amount) private {
        credits[token][account] += amount;
        emit Credited(token, account, amount);
    }

    function _checkEnds(
        uint256 jobId,
        JobRecord storage job,
        bytes32 root,
        bytes32 finalStateHash,
        bytes32 stepRoot0,
        bytes32[] calldata proof0,
        bytes32[] calldata proofLast
    ) private view {
        uint64 last = job.totalSteps / job.checkpointInterval;
        uint256 n = uint256(last) + 1;
        if (!UPowHashing.verify(root, n, 0, UPowHashing.checkpointLeaf(0, job.initialStateHash, stepRoot0), proof0)) {
            revert JobMarketInvalidProof(jobId, 0);
        }
        if (!UPowHashing.verify(root, n, last, UPowHashing.checkpointLeaf(last, finalStateHash, 0), proofLast)) {
            revert JobMarketInvalidProof(jobId, last);
        }
    }

    /// @dev timeout = base + steps·flopsPerStep / refFlops + states·stateBytes / refBytes.
    function _deriveTerms(uint64 k, uint64 flopsPerStep, uint64 stateBytes) private view returns (JobTerms memory t) {
        t.challengeWindow = challengeWindow;
        t.auditorsPerJob = auditorsPerJob;
        t.samplesPerAuditor = samplesPerAuditor;
        // Replaying or regenerating the interval: k steps, k+1 states.
        uint256 interval = _timeout(uint256(k), uint256(k) + 1, flopsPerStep, stateBytes);
        // A juror fetches two states and runs one step twice.
        uint256 reveal = _timeout(2, 2, flopsPerStep, stateBytes);
        t.pinpointTimeout = uint32(interval);
        t.answerTimeout = uint32(interval);
        t.revealTimeout = uint32(reveal);
    }

    function _timeout(uint256 steps, uint256 states, uint64 flopsPerStep, uint64 stateBytes)
        private
        view
        returns (uint256 t)
    {
        t = timeoutBase + (steps * flopsPerStep) / refFlopsPerSecond + (states * stateBytes) / refBytesPerSecond;
        if (t > MAX_TIMEOUT) revert JobMarketTimeoutTooLong(t, MAX_TIMEOUT);
    }

    /// @dev The floor, and the bound of the binding grid point. For rationals f_a/p_a ≥ f_b/p_b,
    /// ⌊f_a·r/p_a⌋ ≥ ⌊f_b·r/p_b⌋ for every r, so the old per-point maximum is the binding point's
    /// value, exactly. f = 100% has P ≤ 1, so the binding f/P ≥ 1 and `need` > reward always.
    function _requiredCollateral(uint256 reward, uint256 challengerBps) private view returns (uint256 required) {
        required = Math.mulDiv(reward, minCollateralBps, BPS, Math.Rounding.Ceil);
        // reward + collateral > f·reward / P  ⇔  reward + collateral ≥ floor(f·reward / P) + 1
        uint256 need = Math.mulDiv(_bindingF, reward, _bindingP) + 1;
        // collateral·kept/BPS ≥ need − reward, rounded up.
        uint256 c = Math.mulDiv(need - reward, BPS, BPS - challengerBps, Math.Rounding.Ceil);
        if (c > required) required = c;
    }

    /// @dev The grid point {1,2,5,10,20,50,100}% with the largest f/P(f), compared exactly by cross
    /// products (f, P ≤ 1e18).
    function _bindingPoint(uint256 auditors, uint256 samples, uint256 hostileBps)
        private
        pure
        returns (uint64 bestF, uint64 bestP)
    {
        uint256 w = (hostileBps * ONE) / BPS;
        // grid in 1e16 units (percent)
        uint256[7] memory grid = [uint256(1), 2, 5, 10, 20, 50, 100];
        for (uint256 g = 0; g < grid.length; ++g) {
            uint256 f = grid[g] * 1e16;
            uint256 missOne = _powUp(ONE - f, samples); // (1−f)^s, rounded up
            uint256 missAll = _powUp(w + Math.mulDiv(ONE - w, missOne, ONE, Math.Rounding.Ceil), auditors);
            // w ≤ 0.5 and f ≥ 1% keep missAll < 1 (see the parameter bounds); P > 0.
            uint256 p = ONE - missAll;
            if (g == 0 || f * bestP > uint256(bestF) * p) (bestF, bestP) = (uint64(f), uint64(p));
        }
    }

    /// @dev x^e in 1e18 fixed point, every product rounded up; e ≤ 32 so at most 5 squarings.
    function _powUp(uint256 x, uint256 e) private pure returns (uint256 r) {
        r = ONE;
        while (e > 0) {
            if (e & 1 == 1) r = Math.mulDiv(r, x, ONE, Math.Rounding.Ceil);
            x = Math.mulDiv(x, x, ONE, Math.Rounding.Ceil);
            e >>= 1;
        }
    }

    function _setAuditManager(IAuditManager am) private {
        auditManager = am;
        emit AuditManagerSet(address(am));
    }

    function _setChallengeWindow(uint64 window) private {
        if (window < MIN_CHALLENGE_WINDOW || window > MAX_CHALLENGE_WINDOW) revert JobMarketInvalidChallengeWindow(window);
        challengeWindow = window;
        emit ChallengeWindowSet(window);
    }

    function _setAuditParams(uint16 auditors, uint16 samples, uint16 hostileBps) private {
        if (auditors == 0 || auditors > MAX_AUDITORS || samples == 0 || samples > MAX_SAMPLES || hostileBps > MAX_HOSTILE_BPS) {
            revert JobMarketInvalidAuditParams(auditors, samples, hostileBps);
        }
        auditorsPerJob = auditors;
        samplesPerAuditor = samples;
        hostileAuditorBps = hostileBps;
        (_bindingF, _bindingP) = _bindingPoint(auditors, samples, hostileBps);
        emit AuditParamsSet(auditors, samples, hostileBps);
    }

    function _setCollateralParams(uint32 minBps, uint16 penaltyBps) private {
        if (minBps > MAX_MIN_COLLATERAL_BPS || penaltyBps > MAX_LIVENESS_PENALTY_BPS) {
            revert JobMarketInvalidCollateralParams(minBps, penaltyBps);
        }
        minCollateralBps = minBps;
        livenessPenaltyBps = penaltyBps;
        emit CollateralParamsSet(minBps, penaltyBps);
    }

    function _setTimeoutParams(uint32 base, uint64 refFlops, uint64 refBytes) private {
        if (
            base < 1 minutes || base > 7 days || refFlops < 1e6 || refFlops > 1e18 || refBytes < 1e3 || refBytes > 1e12
        ) revert JobMarketInvalidTimeoutParams(base, refFlops, refBytes);
        timeoutBase = base;
        refFlopsPerSecond = refFlops;
        refBytesPerSecond = refBytes;
        emit TimeoutParamsSet(base, refFlops, refBytes);
    }
}
