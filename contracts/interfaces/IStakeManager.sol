// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IStakeManager
/// @notice One staking token; per account free / locked / unbonding stake and a juror reserve
/// whose weight is frozen per epoch (PROTOCOL.md §6, §10.10, v3 V3).
/// Locks are keyed by `(account, lockId)`; a slash takes only from the lock it names.
/// Modules (JobMarket, DisputeManager, AuditManager) hold MODULE_ROLE.
interface IStakeManager {
    struct Account {
        uint256 free;
        uint256 locked; // sum of the account's non-juror locks (collateral, attestations)
        uint256 unbonding;
        uint64 unbondingReleaseAt;
        uint64 pendingEpoch; // epoch at which the queued reserve change applies; 0 = none queued
        uint256 reserve; // juror reserve, seat locks included; changes only through the queue (and slashes)
        uint256 seatLocked; // part of `reserve` locked by juror seats
        uint256 pendingJoin; // moves from free stake into the reserve at `pendingEpoch`
        uint256 pendingLeave; // moves from the reserve to free stake at `pendingEpoch` (as far as unlocked)
    }

    event Staked(address indexed account, uint256 amount, uint256 free);
    event UnstakeRequested(address indexed account, uint256 amount, uint256 unbonding, uint64 releaseAt);
    event Withdrawn(address indexed account, uint256 amount);
    event Locked(address indexed account, bytes32 indexed lockId, uint256 amount, bool juror);
    event Unlocked(address indexed account, bytes32 indexed lockId, uint256 amount);
    event Slashed(address indexed account, bytes32 indexed lockId, uint256 amount, address indexed recipient);
    /// @notice A change of `account`'s juror reserve was queued for `epoch`.
    event ReserveChangeQueued(address indexed account, uint64 epoch, uint256 pendingJoin, uint256 pendingLeave);
    /// @notice A queued change was applied: the account's reserve and draw weight from now on.
    event ReserveChangeApplied(address indexed account, uint64 epoch, uint256 reserve, uint256 weight);
    /// @notice A draw filled `seats` (per account) under `lockId` (zero for auditor draws).
    event SeatsDrawn(bytes32 indexed lockId, bytes32 seed, uint64 epoch, address[] accounts, uint256[] seats);

    // ───────────── events and errors (the implementation emits and reverts with these) ─────────────
    event UnbondingPeriodSet(uint64 oldPeriod, uint64 newPeriod);
    event MinJurorStakeSet(uint256 oldStake, uint256 newStake);
    error StakeManagerZeroAddress();
    error StakeManagerZeroAmount();
    error StakeManagerInsufficientFreeStake(address account, uint256 free, uint256 needed);
    error StakeManagerInsufficientReserve(address account, uint256 available, uint256 needed);
    error StakeManagerNothingToWithdraw(address account);
    error StakeManagerUnbondingNotOver(address account, uint64 releaseAt);
    error StakeManagerInvalidUnbondingPeriod(uint64 period, uint64 min, uint64 max);
    error StakeManagerInvalidMinJurorStake(uint256 stake);
    error StakeManagerInvalidEpochs(uint64 epochLength, uint64 drawWindow);
    error StakeManagerDrawTooLarge(uint256 count, uint256 max);
    error StakeManagerTooManyExcluded(uint256 length, uint256 max);
    /// @dev Changes due by the current epoch are still queued (`applyQueued` them first).
    error StakeManagerQueueBacklog(uint256 queued);
    /// @dev Staking would make this contract hold more than 2^128 − 1 tokens (amounts are stored in 128 bits).
    error StakeManagerHoldingsTooLarge(uint256 held, uint256 max);
    /// @dev `lockId` already holds the other kind of lock (free stake vs juror seats).
    error StakeManagerLockKindMismatch(address account, bytes32 lockId);

    function stakingToken() external view returns (IERC20);
    function account(address who) external view returns (Account memory);
    /// @notice `account(who).free` alone (one slot, for the claim check).
    function freeStake(address who) external view returns (uint256);
    function lockedAmount(address who, bytes32 lockId) external view returns (uint256);
    /// @notice Draw weight of `who` in the current epoch (its reserve as of the last applied change).
    function jurorWeight(address who) external view returns (uint256);
    function totalJurorWeight() external view returns (uint256);

    /// @notice The epoch containing `block.timestamp`.
    function currentEpoch() external view returns (uint64);
    /// @notice True when every queued change due by the current epoch is applied (draws may run).
    function queueSettled() external view returns (bool);

    /// @notice Pulls `amount` staking tokens from the caller into its free stake.
    /// Emits {Staked}.
    /// Requirements: `amount > 0`; the caller approved this contract for `amount`; this contract
    /// holds at most 2^128 − 1 tokens afterwards.
    function stake(uint256 amount) external;
    /// @notice Moves `amount` of the caller's free stake into its unbonding bucket and restarts
    /// the bucket's timer at `now + unbondingPeriod`.
    /// Emits {UnstakeRequested}.
    /// Requirements: `0 < amount ≤ free`.
    function requestUnstake(uint256 amount) external;
    /// @notice Sends the caller its whole unbonding bucket.
    /// Emits {Withdrawn}.
    /// Requirements: the bucket is not empty and its release time has passed.
    function withdraw() external;

    /// @notice Schedules a draw's seed (v3 V3.2): applies due changes, then the current epoch with
    /// target `clock + delay` (`clock` = the randomness source's `currentBlock()`) when the queue is
    /// settled and at least `drawWindow` of the epoch is left; target 0 otherwise (the first call
    /// once the queue is settled, or in the next epoch, sets it). MODULE_ROLE.
    function scheduleDraw(uint256 clock, uint256 delay) external returns (uint64 epoch, uint64 targetBlock);

    /// @notice Moves `amount` of `who`'s free stake into the lock `lockId`. MODULE_ROLE.
    function lock(address who, bytes32 lockId, uint256 amount) external;
    /// @notice Releases the whole lock `lockId` of `who` (to free stake, or back to the reserve for
    /// a juror seat lock). MODULE_ROLE.
    function unlock(address who, bytes32 lockId) external returns (uint256 released);
    /// @notice Takes up to `amount` from lock `lockId` of `who` and transfers it to `recipient`. MODULE_ROLE.
    function slash(address who, bytes32 lockId, uint256 amount, address recipient) external returns (uint256 taken);

    /// @notice Draws `seats` seats with replacement from this epoch's frozen weights, never one in
    /// `exclude`; locks `lockPerSeat` of the reserve per seat under `lockId` (as far as unlocked).
    /// A seat beyond `weight / lockPerSeat` seats of one account stays empty (v3 V3.4). MODULE_ROLE.
    function drawSeats(bytes32 seed, uint256 seats, uint256 lockPerSeat, bytes32 lockId, address[] calldata exclude)
        external
        returns (address[] memory accounts, uint256[] memory seatCounts);

    /// @notice Draws `seats` seats with replacement from this epoch's frozen weights without locking
    /// anything (assigned auditors). MODULE_ROLE.
    function drawAccounts(bytes32 seed, uint256 seats, address[] calldata exclude)
        external
        returns (address[] memory accounts, uint256[] memory seatCounts);

    /// @notice True when the lock `lockId` of `who` is a juror seat lock.
    function isJurorLock(address who, bytes32 lockId) external view returns (bool);
    /// @notice Start time of `epoch`.
    function epochStart(uint64 epoch) external view returns (uint64);
    /// @notice The epoch containing time `t` (≥ genesis).
    function epochOf(uint64 t) external view returns (uint64);
    /// @notice Queued entries not yet processed (due or not).
    function queueLength() external view returns (uint256);
    /// @notice Pulls `amount` staking tokens and queues them into the caller's juror reserve: they
    /// weigh in draws from the next epoch on.
    /// Emits {Staked}, {ReserveChangeQueued}.
    /// Requirements: `amount > 0`; the caller approved this contract for `amount`; this contract
    /// holds at most 2^128 − 1 tokens afterwards.
    function stakeForJury(uint256 amount) external;
    /// @notice Queues `amount` of the caller's free stake into its juror reserve (next epoch).
    /// Emits {ReserveChangeQueued}.
    /// Requirements: `0 < amount ≤ free`.
    function joinJury(uint256 amount) external;
    /// @notice Takes `amount` out of the caller's juror reserve: first from a join still queued (at
    /// once, it weighs nothing yet), the rest at the next epoch boundary, as far as no seat locks it.
    /// Emits {ReserveChangeQueued}.
    /// Requirements: `0 < amount ≤ pendingJoin + reserve − pendingLeave`.
    function leaveJury(uint256 amount) external;
    /// @notice Queues a recomputation of `who`'s weight for the next epoch (after a `minJurorStake`
    /// change). Anyone may call; does nothing when the weight would not change and nothing is queued.
    /// Emits {ReserveChangeQueued} when it queues.
    function syncJurorWeight(address who) external;
    /// @notice Applies up to `maxCount` queued changes due by the current epoch, oldest first.
    /// Anyone may call; draws need every due change applied. Returns how many entries it processed.
    /// Emits {ReserveChangeApplied} per change applied.
    function applyQueued(uint256 maxCount) external returns (uint256 processed);
    /// @notice Sets the delay between `requestUnstake` and `withdraw` for later requests.
    /// Emits {UnbondingPeriodSet}.
    /// Requirements: GOVERNOR_ROLE; `MIN_UNBONDING_PERIOD ≤ period ≤ MAX_UNBONDING_PERIOD`.
    function setUnbondingPeriod(uint64 period) external;
    /// @notice Sets the least reserve that gives draw weight. Weights follow when each account's
    /// next queued change applies (`syncJurorWeight` queues one).
    /// Emits {MinJurorStakeSet}.
    /// Requirements: GOVERNOR_ROLE; `stake > 0`.
    function setMinJurorStake(uint256 stake_) external;
}
