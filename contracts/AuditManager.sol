// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAuditManager} from "./interfaces/IAuditManager.sol";
import {ICanaryRegistry} from "./interfaces/ICanaryRegistry.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {IRandomness} from "./interfaces/IRandomness.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BURN_ADDRESS} from "./lib/UPowConstants.sol";

/// @title AuditManager
/// @notice Assigned auditors, attestations, the verification fee, missed faults and canary jobs
/// (PROTOCOL.md §10.8, v3 V11).
/// @dev Needs MODULE_ROLE in the StakeManager (draws accounts, locks and slashes auditor stake).
/// Only its JobMarket calls the IAuditManager hooks.
///
/// An attestation must name exactly the auditor's sample of docs/encoding.md (derived on chain from
/// the audit seed), so an auditor cannot pick intervals it expects to be clean.
/// The audit seed is read from the JobMarket once, when auditors are drawn, and kept here so that
/// attestations and canary slashes stay checkable after the randomness source forgets the block.
///
/// Canaries (v3 V11.1) are committed per epoch in the CanaryRegistry, never per job: any job may be
/// one, so every attester waits `canaryRevealPeriod` after the window (or a reveal) before release.
/// A conviction on interval i costs each attester whose sample contained i `missPenalty` (V11.2).
///
/// Functions that move tokens (`releaseAttester`, `slashCaughtAttester`, `withdraw`) are nonReentrant; the others only
/// call the trusted StakeManager's bookkeeping after their own effects.
///
/// Slashed auditor stake is sent to BURN_ADDRESS (0x…dEaD): paying it to anyone in particular would reward
/// governance, which runs the canaries, for catching auditors.
contract AuditManager is IAuditManager, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice Most fault steps a canary may reveal.
    uint256 public constant MAX_FAULTS = 32;
    uint64 public constant MIN_CANARY_REVEAL_PERIOD = 1 hours;
    uint64 public constant MAX_CANARY_REVEAL_PERIOD = 30 days;

    IJobMarket public immutable jobMarket;
    IStakeManager public immutable stakeManager;
    /// @dev The JobMarket's randomness source (immutable there), read once at construction.
    IRandomness private immutable _randomness;
    /// @notice Epoch roots of canary jobs (v3 V11.1).
    ICanaryRegistry public immutable canaryRegistry;

    /// @notice Stake locked per attestation until the job is final.
    uint256 public auditorPenalty;
    /// @notice Burned from an attester whose sample contained a convicted interval (v3 V11.2).
    uint256 public missPenalty;
    /// @notice Time after windowEnd during which a canary may be revealed; attesters wait for it.
    uint64 public canaryRevealPeriod;
    /// @notice Blocks between scheduling the auditor draw and its seed block (≥ 64 with L1 RANDAO).
    uint64 public drawDelay;

    /// @dev Storage form of `Audit` (issue 17): everything but the seed in one slot. The fee token,
    /// the fee share and the requester are not stored: the JobMarket keeps the job's token, fee and
    /// requester for good (`jobFee`), and the share is `fee / seats`. `convicted` is the convicted
    /// interval + 1 (0: none named; intervals < 2^20). `getAudit` rebuilds the API struct.
    struct AuditRecord {
        bytes32 seed;
        bool drawn;
        bool settled;
        bool paid;
        bool canaryRevealed;
        uint16 attesters;
        uint16 seats;
        uint64 drawEpoch;
        uint64 drawTarget;
        uint64 convicted;
    }

    /// @dev One auditor of one job in one slot (issue 17): its state, its seats (≤ MAX_DRAW) and the
    /// next auditor of the draw (zero after the last), so the job's auditor list costs no slots
    /// beyond these and its head (`_firstAuditor`).
    struct AuditorRecord {
        AuditorState state;
        uint16 seats;
        address next;
    }

    mapping(uint256 jobId => AuditRecord) private _audits;
    /// @dev Head of the job's auditor list, in draw order (zero until drawn or when none was drawn).
    mapping(uint256 jobId => address) private _firstAuditor;
    mapping(uint256 jobId => mapping(address auditor => AuditorRecord)) private _auditorRecords;
    mapping(uint256 jobId => uint256[]) private _canaryFaults; // fault global steps, after reveal
    mapping(address token => mapping(address account => uint256)) public credits;

    modifier onlyJobMarket() {
        if (msg.sender != address(jobMarket)) revert AuditManagerNotJobMarket(msg.sender);
        _;
    }

    /// @param admin receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE.
    constructor(
        address admin,
        IJobMarket jobMarket_,
        IStakeManager stakeManager_,
        ICanaryRegistry canaryRegistry_,
        uint256 auditorPenalty_,
        uint256 missPenalty_
    ) {
        if (
            admin == address(0) || address(jobMarket_) == address(0) || address(stakeManager_) == address(0)
                || address(canaryRegistry_) == address(0)
        ) {
            revert AuditManagerZeroAddress();
        }
        jobMarket = jobMarket_;
        _randomness = jobMarket_.randomness();
        stakeManager = stakeManager_;
        canaryRegistry = canaryRegistry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _setAuditorPenalty(auditorPenalty_);
        _setMissPenalty(missPenalty_);
        _setCanaryRevealPeriod(1 days);
        _setDrawDelay(1);
    }

    // ───────────────────────────── views ─────────────────────────────

    /// @inheritdoc IAuditManager
    function getAudit(uint256 jobId) external view returns (Audit memory audit) {
        AuditRecord storage a = _audits[jobId];
        audit.seed = a.seed;
        audit.drawn = a.drawn;
        audit.settled = a.settled;
        audit.paid = a.paid;
        audit.attesters = a.attesters;
        audit.seats = a.seats;
        audit.drawEpoch = a.drawEpoch;
        audit.drawTarget = a.drawTarget;
        audit.canaryRevealed = a.canaryRevealed;
        if (a.paid) {
            uint256 fee;
            (audit.requester, audit.feeToken,, fee) = jobMarket.jobFee(jobId);
            audit.feeShare = _feeShare(fee, a.seats);
        } else if (a.settled) {
            audit.convictedInterval = a.convicted == 0 ? type(uint256).max : a.convicted - 1;
        }
    }

    /// @inheritdoc IAuditManager
    function auditorState(uint256 jobId, address auditor) external view returns (AuditorState) {
        return _auditorRecords[jobId][auditor].state;
    }

    /// @inheritdoc IAuditManager
    function auditorSeats(uint256 jobId, address auditor) external view returns (uint256) {
        return _auditorRecords[jobId][auditor].seats;
    }

    /// @inheritdoc IAuditManager
    function auditorsOf(uint256 jobId) external view returns (address[] memory auditors) {
        mapping(address => AuditorRecord) storage records = _auditorRecords[jobId];
        uint256 count = 0;
        for (address x = _firstAuditor[jobId]; x != address(0); x = records[x].next) ++count;
        auditors = new address[](count);
        address at = _firstAuditor[jobId];
        for (uint256 i = 0; i < count; ++i) {
            auditors[i] = at;
            at = records[at].next;
        }
    }

    /// @inheritdoc IAuditManager
    function isAuditor(uint256 jobId, address account) external view returns (bool) {
        return _auditorRecords[jobId][account].state != AuditorState.None;
    }

    /// @inheritdoc IAuditManager
    function canaryFaults(uint256 jobId) external view returns (uint256[] memory) {
        return _canaryFaults[jobId];
    }

    /// @inheritdoc IAuditManager
    function auditorLockId(uint256 jobId, address auditor) public view returns (bytes32) {
        return keccak256(abi.encode(address(this), jobId, auditor));
    }

    /// @inheritdoc IAuditManager
    function sampleOf(uint256 jobId, address auditor) public view returns (uint256[] memory sample) {
        AuditRecord storage a = _audits[jobId];
        if (!a.drawn) revert AuditManagerNotDrawn(jobId);
        uint256 intervals = jobMarket.checkpointCount(jobId) - 1;
        // A volunteer (no seat) samples as one seat; its sample is checkable like an auditor's.
        uint256 seats = _auditorRecords[jobId][auditor].seats;
        (, uint256 s) = jobMarket.jobAuditShape(jobId);
        s *= seats == 0 ? 1 : seats;
        if (s > intervals) s = intervals;
        sample = new uint256[](s);
        bytes32 sampleSeed = keccak256(abi.encode(a.seed, jobId, auditor));
        uint256 taken;
        // Terminates: s ≤ n−1 distinct values exist; the expected tries stay below n·ln(n) + n.
        for (uint256 m = 0; taken < s; ++m) {
            uint256 c = uint256(keccak256(abi.encode(sampleSeed, m))) % intervals;
            if (!_contains(sample, taken, c)) sample[taken++] = c;
        }
    }

    // ──────────────────────────── auditing ───────────────────────────

    /// @inheritdoc IAuditManager
    function canDraw(uint256 jobId) external view returns (bool) {
        (IJobMarket.JobStatus status,, uint64 windowEnd,) = jobMarket.jobState(jobId);
        if (status != IJobMarket.JobStatus.Submitted || block.timestamp > windowEnd) return false;
        AuditRecord storage a = _audits[jobId];
        if (a.drawn) return false;
        (uint64 epoch, uint64 target) = (a.drawEpoch, a.drawTarget);
        uint64 current = stakeManager.currentEpoch();
        if (current < epoch) return false;
        IRandomness r = _randomness;
        return target == 0 || current != epoch || r.isExpired(target) || r.isAvailable(target);
    }

    /// @inheritdoc IAuditManager
    function drawAuditors(uint256 jobId) external {
        address worker = _openJob(jobId);
        AuditRecord storage a = _audits[jobId];
        if (a.drawn) revert AuditManagerAlreadyDrawn(jobId);
        (uint64 epoch, uint64 target) = (a.drawEpoch, a.drawTarget);
        uint64 current = stakeManager.currentEpoch();
        if (current < epoch) revert AuditManagerDrawNotReady(jobId, epoch, target);
        IRandomness r = _randomness;
        if (target == 0 || current != epoch || r.isExpired(target)) {
            _scheduleDraw(jobId, a, r);
            return;
        }
        if (!r.isAvailable(target)) revert AuditManagerDrawNotReady(jobId, epoch, target);
        bytes32 seed = r.valueAt(target);
        a.drawn = true;
        a.seed = seed;
        address[] memory exclude = new address[](1);
        exclude[0] = worker;
        // Trusted module call; the job id is mixed in so jobs sharing a seed block differ.
        (address[] memory drawn, uint256[] memory seats) = stakeManager.drawAccounts(
            keccak256(abi.encode(seed, jobId, "upow.auditors")), _auditorsPerJob(jobId), exclude
        );
        a.seats = uint16(_assign(jobId, drawn, seats));
        emit AuditorsAssigned(jobId, seed, drawn, seats);
    }

    /// @inheritdoc IAuditManager
    function attest(uint256 jobId, uint256[] calldata sampleIntervals) external {
        _openJob(jobId);
        AuditorRecord storage r = _auditorRecords[jobId][msg.sender];
        if (r.state != AuditorState.Assigned) revert AuditManagerNotAssigned(jobId, msg.sender);
        uint256[] memory expected = sampleOf(jobId, msg.sender);
        bytes32 sampleHash = keccak256(abi.encode(sampleIntervals));
        if (sampleHash != keccak256(abi.encode(expected))) revert AuditManagerSampleMismatch(jobId, msg.sender);
        r.state = AuditorState.Attested;
        uint16 seats = r.seats;
        _audits[jobId].attesters += seats;
        emit Attested(jobId, msg.sender, sampleHash, sampleIntervals);
        stakeManager.lock(msg.sender, auditorLockId(jobId, msg.sender), auditorPenalty * seats);
    }

    /// @inheritdoc IAuditManager
    /// @dev Emits {AuditDrawScheduled}.
    function onJobSubmitted(uint256 jobId) external onlyJobMarket {
        _scheduleDraw(jobId, _audits[jobId], _randomness);
    }

    /// @inheritdoc IAuditManager
    /// @dev Each filled seat's share is `fee / seats`; attesters get theirs on release, the
    /// unattested shares and the rounding remainder are credited to the requester now. Token, fee
    /// and requester are read back from the JobMarket (`jobFee`) when needed, never stored here.
    /// Emits {AuditSettled}, {Credited}.
    function onJobFinalized(uint256 jobId, IERC20 token, uint256 fee, address requester) external onlyJobMarket {
        AuditRecord storage a = _audits[jobId];
        uint256 share = _feeShare(fee, a.seats);
        uint16 attesters = a.attesters;
        a.settled = true;
        a.paid = true;
        emit AuditSettled(jobId, true, share, attesters);
        uint256 rest = fee - share * attesters;
        if (rest != 0) _credit(address(token), requester, rest);
    }

    /// @inheritdoc IAuditManager
    /// @dev Emits {AuditSettled}.
    function onJobRejected(uint256 jobId, uint256 interval) external onlyJobMarket {
        AuditRecord storage a = _audits[jobId];
        a.settled = true;
        // Intervals are < JobMarket.MAX_CHECKPOINTS; the cast is checked all the same.
        a.convicted = interval == type(uint256).max ? 0 : SafeCast.toUint64(interval + 1);
        emit AuditSettled(jobId, false, 0, a.attesters);
    }

    /// @inheritdoc IAuditManager
    function releaseAttester(uint256 jobId, address auditor) external nonReentrant {
        AuditRecord storage a = _audits[jobId];
        AuditorRecord storage r = _auditorRecords[jobId][auditor];
        if (r.state != AuditorState.Attested) revert AuditManagerNotAttested(jobId, auditor);
        if (!a.settled) revert AuditManagerNotSettled(jobId);
        (, IERC20 token, uint64 windowEnd, uint256 jobFee) = jobMarket.jobFee(jobId);
        if (!a.canaryRevealed) {
            uint256 deadline = uint256(windowEnd) + canaryRevealPeriod;
            if (block.timestamp <= deadline) revert AuditManagerCanaryPending(jobId, deadline);
        } else if (_hitsFault(jobId, auditor)) {
            revert AuditManagerAttesterCaught(jobId, auditor);
        }
        r.state = AuditorState.Released;
        uint256 fee;
        if (a.paid) fee = _feeShare(jobFee, a.seats) * r.seats;
        else if (a.convicted != 0) _chargeMiss(jobId, auditor, a.convicted - 1);
        emit AttesterReleased(jobId, auditor, fee);
        if (fee > 0) _credit(address(token), auditor, fee);
        stakeManager.unlock(auditor, auditorLockId(jobId, auditor));
    }

    // ──────────────────────────── canaries ───────────────────────────

    /// @inheritdoc IAuditManager
    function revealCanary(uint256 jobId, uint256[] calldata faultSteps, bytes32 salt, bytes32[] calldata proof)
        external
    {
        AuditRecord storage a = _audits[jobId];
        if (a.canaryRevealed) revert AuditManagerCanaryAlreadyRevealed(jobId);
        IJobMarket.Job memory job = jobMarket.getJob(jobId);
        if (job.windowEnd == 0 || block.timestamp <= job.windowEnd) revert AuditManagerWindowOpen(jobId, job.windowEnd);
        uint256 deadline = uint256(job.windowEnd) + canaryRevealPeriod;
        if (block.timestamp > deadline) revert AuditManagerRevealPeriodOver(jobId, deadline);
        if (faultSteps.length > MAX_FAULTS) revert AuditManagerTooManyFaults(faultSteps.length, MAX_FAULTS);
        if (!canaryRegistry.verifyCanary(job.createdAt, job.specHash, faultSteps, salt, proof)) {
            revert AuditManagerBadReveal(jobId);
        }
        a.canaryRevealed = true;
        _canaryFaults[jobId] = faultSteps;
        emit CanaryRevealed(jobId, faultSteps);
    }

    /// @inheritdoc IAuditManager
    function slashCaughtAttester(uint256 jobId, address attester) external nonReentrant {
        AuditRecord storage a = _audits[jobId];
        if (!a.canaryRevealed) revert AuditManagerCanaryNotRevealed(jobId);
        AuditorRecord storage r = _auditorRecords[jobId][attester];
        if (r.state != AuditorState.Attested) revert AuditManagerNotAttested(jobId, attester);
        if (!_hitsFault(jobId, attester)) revert AuditManagerNoFaultHit(jobId, attester);
        r.state = AuditorState.Slashed;
        bytes32 lockId = auditorLockId(jobId, attester);
        uint256 amount = stakeManager.lockedAmount(attester, lockId);
        emit AttesterSlashed(jobId, attester, amount);
        // Its fee shares (one per seat) go to the requester: credited now if the fee was split
        // already, else its seats are left out of the split.
        if (a.paid) {
            (address requester, IERC20 token,, uint256 fee) = jobMarket.jobFee(jobId);
            _credit(address(token), requester, _feeShare(fee, a.seats) * r.seats);
        } else {
            a.attesters -= r.seats;
        }
        stakeManager.slash(attester, lockId, amount, BURN_ADDRESS);
    }

    // ───────────────────────────── money ─────────────────────────────

    /// @inheritdoc IAuditManager
    function withdraw(address token) external nonReentrant {
        uint256 amount = credits[token][msg.sender];
        if (amount == 0) revert AuditManagerNothingToWithdraw(token, msg.sender);
        credits[token][msg.sender] = 0;
        emit CreditWithdrawn(token, msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ─────────────────────────── governance ──────────────────────────

    /// @inheritdoc IAuditManager
    function setAuditorPenalty(uint256 penalty) external onlyRole(GOVERNOR_ROLE) {
        _setAuditorPenalty(penalty);
    }

    /// @inheritdoc IAuditManager
    function setMissPenalty(uint256 penalty) external onlyRole(GOVERNOR_ROLE) {
        _setMissPenalty(penalty);
    }

    /// @inheritdoc IAuditManager
    function setCanaryRevealPeriod(uint64 period) external onlyRole(GOVERNOR_ROLE) {
        _setCanaryRevealPeriod(period);
    }

    /// @inheritdoc IAuditManager
    function setDrawDelay(uint64 delay) external onlyRole(GOVERNOR_ROLE) {
        _setDrawDelay(delay);
    }

    // ─────────────────────────── internals ───────────────────────────

    /// @dev Trusted StakeManager: schedules only on a settled queue (see `scheduleDraw`).
    function _scheduleDraw(uint256 jobId, AuditRecord storage a, IRandomness r) private {
        (uint64 epoch, uint64 target) = stakeManager.scheduleDraw(r.currentBlock(), drawDelay);
        (a.drawEpoch, a.drawTarget) = (epoch, target);
        emit AuditDrawScheduled(jobId, epoch, target);
    }

    function _setDrawDelay(uint64 delay) private {
        if (delay == 0 || delay > 256) revert AuditManagerInvalidDrawDelay(delay);
        drawDelay = delay;
        emit DrawDelaySet(delay);
    }

    /// @dev The worker of the job, which must be Submitted and inside its challenge window.
    function _openJob(uint256 jobId) private view returns (address worker) {
        (IJobMarket.JobStatus status, address w, uint64 windowEnd,) = jobMarket.jobState(jobId);
        if (status != IJobMarket.JobStatus.Submitted) revert AuditManagerWrongStatus(jobId, status);
        if (block.timestamp > windowEnd) revert AuditManagerWindowClosed(jobId, windowEnd);
        return w;
    }

    function _auditorsPerJob(uint256 jobId) private view returns (uint256 a) {
        (a,) = jobMarket.jobAuditShape(jobId);
    }

    /// @dev Records the drawn auditors (distinct, non-zero, at most A ≤ 32) as a list in draw order,
    /// linked back to front; returns the seats filled.
    function _assign(uint256 jobId, address[] memory drawn, uint256[] memory seats) private returns (uint256 filled) {
        mapping(address => AuditorRecord) storage records = _auditorRecords[jobId];
        address next = address(0);
        for (uint256 i = drawn.length; i > 0;) {
            --i;
            // seats[i] ≤ StakeManager.MAX_DRAW (64).
            records[drawn[i]] = AuditorRecord(AuditorState.Assigned, uint16(seats[i]), next);
            next = drawn[i];
            filled += seats[i];
        }
        _firstAuditor[jobId] = next;
    }

    /// @dev One seat's share of the verification fee (0 when no seat was filled).
    function _feeShare(uint256 fee, uint256 seats) private pure returns (uint256) {
        return seats == 0 ? 0 : fee / seats;
    }

    /// @dev Whether a revealed canary fault step lies in an interval of the auditor's sample.
    function _hitsFault(uint256 jobId, address auditor) private view returns (bool) {
        uint256[] memory sample = sampleOf(jobId, auditor);
        uint256[] storage faults = _canaryFaults[jobId];
        (, uint256 k) = jobMarket.jobSteps(jobId);
        for (uint256 i = 0; i < faults.length; ++i) {
            if (_contains(sample, sample.length, faults[i] / k)) return true;
        }
        return false;
    }

    /// @dev V11.2: burns `missPenalty` (at most the lock) of an attester whose sample contained the
    /// convicted interval.
    function _chargeMiss(uint256 jobId, address auditor, uint256 interval) private {
        uint256[] memory sample = sampleOf(jobId, auditor);
        if (!_contains(sample, sample.length, interval)) return;
        // Trusted StakeManager: takes min(missPenalty, lock) to BURN_ADDRESS.
        uint256 amount = stakeManager.slash(auditor, auditorLockId(jobId, auditor), missPenalty, BURN_ADDRESS);
        emit AttesterMissed(jobId, auditor, interval, amount);
    }

    function _contains(uint256[] memory values, uint256 len, uint256 x) private pure returns (bool) {
        for (uint256 i = 0; i < len; ++i) {
            if (values[i] == x) return true;
        }
        return false;
    }

    function _credit(address token, address account, uint256 amount) private {
        credits[token][account] += amount;
        emit Credited(token, account, amount);
    }

    function _setAuditorPenalty(uint256 penalty) private {
        if (penalty == 0 || penalty < missPenalty) revert AuditManagerInvalidPenalty(penalty);
        auditorPenalty = penalty;
        emit AuditorPenaltySet(penalty);
    }

    function _setMissPenalty(uint256 penalty) private {
        if (penalty == 0 || penalty > auditorPenalty) revert AuditManagerInvalidMissPenalty(penalty, auditorPenalty);
        missPenalty = penalty;
        emit MissPenaltySet(penalty);
    }

    function _setCanaryRevealPeriod(uint64 period) private {
        if (period < MIN_CANARY_REVEAL_PERIOD || period > MAX_CANARY_REVEAL_PERIOD) {
            revert AuditManagerInvalidRevealPeriod(period);
        }
        canaryRevealPeriod = period;
        emit CanaryRevealPeriodSet(period);
    }
}
