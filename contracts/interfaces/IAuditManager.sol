// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ICanaryRegistry} from "./ICanaryRegistry.sol";
import {IJobMarket} from "./IJobMarket.sol";

/// @title IAuditManager
/// @notice Assigned auditors, attestations and canary jobs (PROTOCOL.md §10.8).
interface IAuditManager {
    /// @notice Where one auditor of one job stands.
    enum AuditorState {
        None,
        Assigned,
        Attested,
        Released,
        Slashed
    }

    /// @notice One job's audit: its draw, its settlement and its fee.
    struct Audit {
        bytes32 seed; // audit seed read at the draw; zero until drawn
        bool drawn;
        bool settled; // the job is Finalized or Rejected
        bool paid; // settled by finalization (attesters earn feeShare)
        uint16 attesters; // attested seats
        uint16 seats; // seats filled by the draw (an account may hold several, v3 V3.4)
        uint64 drawEpoch; // epoch whose frozen weights the draw reads (v3 V3.2)
        uint64 drawTarget; // block whose randomness seeds the draw (0: waits for drawEpoch)

        IERC20 feeToken;
        uint256 feeShare; // per seat
        address requester;
        bool canaryRevealed;
        uint256 convictedInterval; // rejected jobs: the interval convicted (type(uint256).max: none named)
    }

    // ───────────── events and errors (the implementation emits and reverts with these) ─────────────
    event AuditorsAssigned(uint256 indexed jobId, bytes32 seed, address[] auditors, uint256[] seats);
    /// @notice The auditor draw of `jobId` takes its seed from `targetBlock` in `epoch` (0: set in that epoch).
    event AuditDrawScheduled(uint256 indexed jobId, uint64 epoch, uint64 targetBlock);
    event DrawDelaySet(uint64 drawDelay);
    event Attested(uint256 indexed jobId, address indexed auditor, bytes32 sampleHash, uint256[] sampleIntervals);
    event AuditSettled(uint256 indexed jobId, bool finalized, uint256 feeShare, uint16 attesters);
    event AttesterReleased(uint256 indexed jobId, address indexed auditor, uint256 fee);
    event AttesterSlashed(uint256 indexed jobId, address indexed auditor, uint256 amount);
    /// @notice V11.2: `auditor` attested a sample containing the convicted `interval`; `amount` burned.
    event AttesterMissed(uint256 indexed jobId, address indexed auditor, uint256 interval, uint256 amount);
    event CanaryRevealed(uint256 indexed jobId, uint256[] faultSteps);
    event Credited(address indexed token, address indexed account, uint256 amount);
    event CreditWithdrawn(address indexed token, address indexed account, uint256 amount);
    event AuditorPenaltySet(uint256 auditorPenalty);
    event MissPenaltySet(uint256 missPenalty);
    event CanaryRevealPeriodSet(uint64 canaryRevealPeriod);
    error AuditManagerZeroAddress();
    error AuditManagerNotJobMarket(address caller);
    error AuditManagerWrongStatus(uint256 jobId, IJobMarket.JobStatus status);
    error AuditManagerWindowClosed(uint256 jobId, uint64 windowEnd);
    error AuditManagerWindowOpen(uint256 jobId, uint64 windowEnd);
    error AuditManagerAlreadyDrawn(uint256 jobId);
    error AuditManagerNotDrawn(uint256 jobId);
    /// @dev The draw's epoch has not begun or its seed block is not readable yet.
    error AuditManagerDrawNotReady(uint256 jobId, uint64 epoch, uint64 targetBlock);
    error AuditManagerInvalidDrawDelay(uint64 drawDelay);
    error AuditManagerNotAssigned(uint256 jobId, address account);
    error AuditManagerSampleMismatch(uint256 jobId, address auditor);
    error AuditManagerNotSettled(uint256 jobId);
    error AuditManagerNotAttested(uint256 jobId, address auditor);
    error AuditManagerCanaryPending(uint256 jobId, uint256 revealDeadline);
    error AuditManagerAttesterCaught(uint256 jobId, address auditor);
    error AuditManagerCanaryAlreadyRevealed(uint256 jobId);
    error AuditManagerRevealPeriodOver(uint256 jobId, uint256 revealDeadline);
    error AuditManagerTooManyFaults(uint256 count, uint256 max);
    error AuditManagerBadReveal(uint256 jobId);
    error AuditManagerCanaryNotRevealed(uint256 jobId);
    error AuditManagerNoFaultHit(uint256 jobId, address auditor);
    error AuditManagerNothingToWithdraw(address token, address account);
    error AuditManagerInvalidPenalty(uint256 auditorPenalty);
    error AuditManagerInvalidMissPenalty(uint256 missPenalty, uint256 auditorPenalty);
    error AuditManagerInvalidRevealPeriod(uint64 canaryRevealPeriod);

    /// @notice JobMarket only: `jobId` was submitted; schedules its auditor draw's seed (v3 V3.2).
    function onJobSubmitted(uint256 jobId) external;
    /// @notice JobMarket only: `fee` of `token` was transferred to this contract for `jobId`'s attesters;
    /// shares are claimable by attesters, the rest goes back to `requester`.
    function onJobFinalized(uint256 jobId, IERC20 token, uint256 fee, address requester) external;
    /// @notice JobMarket only: the job was rejected, its worker convicted on `interval`
    /// (`type(uint256).max`: none named); attesters get no fee, their locks are released, less
    /// `missPenalty` for those whose sample contained `interval` (v3 V11.2), or slashed whole when a
    /// revealed canary fault hit their sample.
    function onJobRejected(uint256 jobId, uint256 interval) external;
    /// @notice The registry of canary epoch roots (v3 V11.1), shared with the DisputeManager (V10.1).
    function canaryRegistry() external view returns (ICanaryRegistry);
    /// @notice Whether `account` was drawn as an assigned auditor of `jobId`.
    function isAuditor(uint256 jobId, address account) external view returns (bool);

    /// @notice Where `auditor` stands on `jobId` (None when not drawn).
    function auditorState(uint256 jobId, address auditor) external view returns (AuditorState);
    /// @notice Auditor seats `auditor` holds on `jobId` (its sample, lock, fee and miss penalty scale with them).
    function auditorSeats(uint256 jobId, address auditor) external view returns (uint256);
    /// @notice The job's audit record (seed, settlement, fee share, canary).
    /// @dev The fee token, fee share and requester are filled once the job is finalized (read from
    /// the JobMarket's `jobFee`), the convicted interval once it is rejected.
    function getAudit(uint256 jobId) external view returns (Audit memory);
    /// @notice The auditors assigned to `jobId` (empty until drawn).
    function auditorsOf(uint256 jobId) external view returns (address[] memory);
    /// @notice The fault global steps a revealed canary named (its fault intervals are `step / k`).
    function canaryFaults(uint256 jobId) external view returns (uint256[] memory);
    /// @notice Lock id of `auditor`'s attestation lock for `jobId` in the StakeManager.
    function auditorLockId(uint256 jobId, address auditor) external view returns (bytes32);
    /// @notice The sample `auditor` must attest for `jobId` (docs/encoding.md): seed
    /// `keccak256(abi.encode(auditSeed, jobId, auditor))`, candidates `keccak256(abi.encode(seed, m)) % (n−1)`
    /// for m = 0, 1, ..., repeats skipped, until min(s·seats, n−1) distinct intervals (an auditor
    /// holding several seats checks as much as that many auditors; an account without a seat, s).
    /// @dev Requirements: auditors drawn (the seed is known).
    function sampleOf(uint256 jobId, address auditor) external view returns (uint256[] memory sample);
    /// @notice True when `drawAuditors(jobId)` would draw or (re)schedule now (for keepers).
    function canDraw(uint256 jobId) external view returns (bool);
    /// @notice Draws the job's `A` auditor seats (stake-weighted with replacement, never the worker)
    /// from the frozen weights of the epoch its seed was scheduled in (at submission,
    /// `StakeManager.scheduleDraw`). When that epoch passed, the seed expired unread, or no target
    /// could be set yet, the call schedules a fresh seed instead and returns (v3 V3.2). Anyone may call.
    /// @dev Emits {AuditorsAssigned} or {AuditDrawScheduled}. Requirements: job Submitted; window
    /// open; not drawn yet; the draw's epoch begun and its seed block readable (or expired).
    function drawAuditors(uint256 jobId) external;
    /// @notice An assigned auditor attests that its sample replayed within tolerance; locks
    /// `auditorPenalty` per seat of its free stake until the job is final.
    /// @dev Emits {Attested}. Requirements: job Submitted; window open; caller assigned and not yet
    /// attested; `sampleIntervals` equals `sampleOf(jobId, caller)`; enough free stake.
    function attest(uint256 jobId, uint256[] calldata sampleIntervals) external;
    /// @notice Releases an attester's lock once the job is final and credits its fee share (if the job
    /// was finalized). On a job rejected for interval i, an attester whose sample contained i first
    /// loses `missPenalty` (at most its lock) to BURN_ADDRESS (v3 V11.2). Anyone may call.
    /// @dev Emits {AttesterMissed} (rejected, interval sampled), {AttesterReleased}, {Credited}
    /// (finalized jobs). Requirements: `auditor` attested and is neither released nor slashed; the job
    /// settled; a canary revealed or the reveal period (`canaryRevealPeriod` after the window) over —
    /// any job may be a canary (V11.1); no revealed canary fault hit the auditor's sample.
    function releaseAttester(uint256 jobId, address auditor) external;
    /// @notice Reveals that `jobId` is a canary of the CanaryRegistry (v3 V11.1) after its challenge
    /// window: `(job.specHash, faultSteps, salt)` is a leaf, proven by `proof`, of the root of the
    /// epoch the job was created in. Attesters whose sample contains a fault interval (`step / k`)
    /// can then be slashed (`slashCaughtAttester`). Anyone holding the salt may call.
    /// @dev Emits {CanaryRevealed}. Requirements: not revealed yet; the job submitted and its window
    /// over; within `canaryRevealPeriod` after it; ≤ MAX_FAULTS steps; the proof valid.
    function revealCanary(uint256 jobId, uint256[] calldata faultSteps, bytes32 salt, bytes32[] calldata proof) external;
    /// @notice Slashes the whole attestation lock of an attester caught by a canary: its sample
    /// contains an interval with a revealed canary fault (to BURN_ADDRESS); its fee share goes to the
    /// requester. Anyone may call.
    /// @dev Emits {AttesterSlashed}, {Credited} (when the fee was split already). Requirements: canary revealed;
    /// `attester` attested and is neither released nor slashed; a fault hit its sample.
    function slashCaughtAttester(uint256 jobId, address attester) external;
    /// @notice Withdraws the caller's whole credit in `token` (pull payments).
    /// @dev Emits {CreditWithdrawn}. Requirements: credit > 0.
    function withdraw(address token) external;
    /// @notice Stake locked by each attestation from now on (earlier locks keep their amount).
    /// @dev Emits {AuditorPenaltySet}. Requirements: GOVERNOR_ROLE; penalty ≥ missPenalty, > 0.
    function setAuditorPenalty(uint256 penalty) external;
    /// @notice Burned from an attester whose sample contained a convicted interval (v3 V11.2); locks
    /// taken earlier lose at most what they hold.
    /// @dev Emits {MissPenaltySet}. Requirements: GOVERNOR_ROLE; 0 < penalty ≤ auditorPenalty.
    function setMissPenalty(uint256 penalty) external;
    /// @notice How long after a canary's window its fault set may be revealed.
    /// @dev Emits {CanaryRevealPeriodSet}. Requirements: GOVERNOR_ROLE; MIN_ ≤ period ≤ MAX_CANARY_REVEAL_PERIOD.
    function setCanaryRevealPeriod(uint64 period) external;
    /// @notice Blocks between scheduling an auditor draw and its seed block, for later schedules.
    /// @dev Emits {DrawDelaySet}. Requirements: GOVERNOR_ROLE; 1 ≤ delay ≤ 256.
    function setDrawDelay(uint64 delay) external;
}
