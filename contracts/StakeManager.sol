// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SortitionSumTree} from "./lib/SortitionSumTree.sol";

/// @title StakeManager
/// @notice One staking token; per account free / locked / unbonding stake, and a juror reserve
/// whose draw weight is frozen per epoch (PROTOCOL.md §6, §10.10, v3 V3).
/// - Free stake backs worker collateral and attestations; only free stake can be unbonded.
/// - The juror reserve is the only thing draws weigh. It changes only through a queue: joining,
///   leaving and the weight effect of a slash take effect at the next epoch boundary, so nobody who
///   has seen a draw's seed can change who that draw picks (V3.1–3.3, V3.6). Only juror seats lock
///   the reserve; sitting on a committee never changes weight (V3.4).
/// - Draws pick seats *with replacement*: each seat is an independent stake-weighted pick, so
///   splitting stake over many accounts gains nothing (V3.4). An account holds at most
///   `weight / lockPerSeat` seats of one draw (its frozen weight, never live locks, decides, so no
///   call made after the seed can fill or empty a seat); further picks of it leave the seat empty.
///   Each seat locks `lockPerSeat` of the reserve as far as the unlocked reserve allows.
/// - The tree's layout (which leaf holds whom) depends on the order in which changes are applied,
///   so a seed is scheduled only once every change due by its epoch is applied (`scheduleDraw`);
///   after that nothing in the tree moves until the epoch ends. Anyone may apply changes with
///   `applyQueued`.
/// Invariant: token balance of this contract = Σ (free + locked + unbonding + reserve + pendingJoin).
contract StakeManager is IStakeManager, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SortitionSumTree for SortitionSumTree.Tree;

    /// @notice Sets `unbondingPeriod` and `minJurorStake`.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice Locks, unlocks, slashes and draws (JobMarket, DisputeManager, AuditManager).
    bytes32 public constant MODULE_ROLE = keccak256("MODULE_ROLE");

    uint64 public constant MIN_UNBONDING_PERIOD = 1 hours;
    uint64 public constant MAX_UNBONDING_PERIOD = 90 days;
    /// @notice Most seats one draw fills (bounds its gas).
    uint256 public constant MAX_DRAW = 64;
    /// @notice Most addresses one draw may exclude.
    uint256 public constant MAX_EXCLUDE = 8;
    /// @notice Most picks of excluded accounts one draw redraws before it stops.
    uint256 public constant MAX_SKIPS = 16;
    /// @notice Most queued changes a draw applies itself before it runs.
    uint256 public constant MAX_APPLY = 32;
    uint64 public constant MIN_EPOCH_LENGTH = 60;

    /// @dev One slot per lock (issue 17): amounts fit 128 bits (every write is a checked cast).
    struct Lock {
        uint128 amount;
        bool juror;
    }

    /// @dev Storage form of `IStakeManager.Account` (issue 17), four slots: `free` and `locked`
    /// share one, so a lock, unlock or slash of free stake writes one slot; `reserve` and
    /// `seatLocked` share one, so seating a juror updates a slot its reserve already made non-zero
    /// instead of creating one. Every amount is a part of this contract's balance, which
    /// `_checkIncoming` keeps below 2^128, so no sum of them overflows and each narrowing cast
    /// follows from a bound its comment names. `account` widens it back.
    struct AccountRecord {
        uint128 free;
        uint128 locked;
        uint128 reserve;
        uint128 seatLocked;
        uint128 pendingJoin;
        uint128 pendingLeave;
        uint128 unbonding;
        uint64 unbondingReleaseAt;
        uint64 pendingEpoch;
    }

    /// @dev One queued reserve change: `who` changes at `epoch` (stale when the account's
    /// `pendingEpoch` moved on; applying it then does nothing).
    struct Entry {
        address who;
        uint64 epoch;
    }

    IERC20 private immutable _stakingToken;
    /// @notice Start of epoch 0 (deployment time).
    uint64 public immutable genesis;
    /// @notice Seconds per epoch; draw weights change only at epoch boundaries.
    uint64 public immutable epochLength;
    /// @notice Least time left in an epoch for a draw to take its seed in it (≥ the chain's
    /// force-inclusion delay, v3 V3.2, V12); later requests take the next epoch.
    uint64 public immutable drawWindow;

    /// @notice Delay between `requestUnstake` and `withdraw`.
    uint64 public unbondingPeriod;
    /// @notice Least reserve that gives an account draw weight (checked when a change applies).
    uint256 public minJurorStake;

    mapping(address who => AccountRecord) private _accounts;
    mapping(address who => mapping(bytes32 lockId => Lock)) private _locks;
    SortitionSumTree.Tree private _pool;
    Entry[] private _queue;
    uint256 private _queueHead;

    /// @param token_ The staking token.
    /// @param admin Receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE (grant MODULE_ROLE to the modules).
    /// @param epochLength_ Seconds per epoch, ≥ MIN_EPOCH_LENGTH.
    /// @param drawWindow_ Least epoch time left for a draw to be seeded in it; 0 < 2·drawWindow ≤ epochLength.
    /// Emits {UnbondingPeriodSet} and {MinJurorStakeSet}.
    constructor(
        IERC20 token_,
        address admin,
        uint64 unbondingPeriod_,
        uint256 minJurorStake_,
        uint64 epochLength_,
        uint64 drawWindow_
    ) {
        if (address(token_) == address(0) || admin == address(0)) revert StakeManagerZeroAddress();
        if (epochLength_ < MIN_EPOCH_LENGTH || drawWindow_ == 0 || 2 * uint256(drawWindow_) > epochLength_) {
            revert StakeManagerInvalidEpochs(epochLength_, drawWindow_);
        }
        _stakingToken = token_;
        genesis = uint64(block.timestamp);
        epochLength = epochLength_;
        drawWindow = drawWindow_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _setUnbondingPeriod(unbondingPeriod_);
        _setMinJurorStake(minJurorStake_);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStakeManager
    function stakingToken() external view returns (IERC20) {
        return _stakingToken;
    }

    /// @inheritdoc IStakeManager
    function account(address who) external view returns (Account memory) {
        AccountRecord storage a = _accounts[who];
        return Account({
            free: a.free,
            locked: a.locked,
            unbonding: a.unbonding,
            unbondingReleaseAt: a.unbondingReleaseAt,
            pendingEpoch: a.pendingEpoch,
            reserve: a.reserve,
            seatLocked: a.seatLocked,
            pendingJoin: a.pendingJoin,
            pendingLeave: a.pendingLeave
        });
    }

    /// @inheritdoc IStakeManager
    function freeStake(address who) external view returns (uint256) {
        return _accounts[who].free;
    }

    /// @inheritdoc IStakeManager
    function lockedAmount(address who, bytes32 lockId) external view returns (uint256) {
        return _locks[who][lockId].amount;
    }

    /// @inheritdoc IStakeManager
    function isJurorLock(address who, bytes32 lockId) external view returns (bool) {
        return _locks[who][lockId].juror;
    }

    /// @inheritdoc IStakeManager
    function jurorWeight(address who) external view returns (uint256) {
        return _pool.weightOf(who);
    }

    /// @inheritdoc IStakeManager
    function totalJurorWeight() external view returns (uint256) {
        return _pool.total();
    }

    /// @inheritdoc IStakeManager
    function currentEpoch() public view returns (uint64) {
        return epochOf(uint64(block.timestamp));
    }

    /// @inheritdoc IStakeManager
    function epochStart(uint64 epoch) public view returns (uint64) {
        return genesis + epoch * epochLength;
    }

    /// @inheritdoc IStakeManager
    function epochOf(uint64 t) public view returns (uint64) {
        return (t - genesis) / epochLength;
    }

    /// @inheritdoc IStakeManager
    function queueSettled() public view returns (bool) {
        return _queueHead == _queue.length || _queue[_queueHead].epoch > currentEpoch();
    }

    /// @inheritdoc IStakeManager
    function queueLength() external view returns (uint256) {
        return _queue.length - _queueHead;
    }

    // ------------------------------------------------------------------ stakers

    /// @inheritdoc IStakeManager
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert StakeManagerZeroAmount();
        _checkIncoming(amount);
        AccountRecord storage a = _accounts[msg.sender];
        a.free += uint128(amount); // below 2^128 with everything held (_checkIncoming)
        emit Staked(msg.sender, amount, a.free);
        // The staking token is trusted and the call is nonReentrant.
        _stakingToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStakeManager
    function stakeForJury(uint256 amount) external nonReentrant {
        if (amount == 0) revert StakeManagerZeroAmount();
        _checkIncoming(amount);
        AccountRecord storage a = _due(msg.sender);
        emit Staked(msg.sender, amount, a.free);
        a.pendingJoin += uint128(amount); // below 2^128 with everything held (_checkIncoming)
        _enqueue(msg.sender, a);
        // The staking token is trusted and the call is nonReentrant.
        _stakingToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStakeManager
    function joinJury(uint256 amount) external {
        if (amount == 0) revert StakeManagerZeroAmount();
        AccountRecord storage a = _due(msg.sender);
        if (a.free < amount) revert StakeManagerInsufficientFreeStake(msg.sender, a.free, amount);
        a.free -= uint128(amount); // amount ≤ free
        a.pendingJoin += uint128(amount); // amount ≤ free, a uint128
        _enqueue(msg.sender, a);
    }

    /// @inheritdoc IStakeManager
    function leaveJury(uint256 amount) external {
        if (amount == 0) revert StakeManagerZeroAmount();
        AccountRecord storage a = _due(msg.sender);
        uint256 available = uint256(a.pendingJoin) + a.reserve - a.pendingLeave;
        if (available < amount) revert StakeManagerInsufficientReserve(msg.sender, available, amount);
        uint128 fromJoin = amount < a.pendingJoin ? uint128(amount) : a.pendingJoin;
        a.pendingJoin -= fromJoin;
        a.free += fromJoin;
        a.pendingLeave += uint128(amount - fromJoin); // ≤ reserve, a uint128
        _enqueue(msg.sender, a);
    }

    /// @inheritdoc IStakeManager
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert StakeManagerZeroAmount();
        AccountRecord storage a = _accounts[msg.sender];
        if (a.free < amount) revert StakeManagerInsufficientFreeStake(msg.sender, a.free, amount);
        a.free -= uint128(amount); // amount ≤ free
        a.unbonding += uint128(amount); // amount ≤ free, a uint128
        a.unbondingReleaseAt = uint64(block.timestamp) + unbondingPeriod;
        emit UnstakeRequested(msg.sender, amount, a.unbonding, a.unbondingReleaseAt);
    }

    /// @inheritdoc IStakeManager
    function withdraw() external nonReentrant {
        AccountRecord storage a = _accounts[msg.sender];
        uint256 amount = a.unbonding;
        if (amount == 0) revert StakeManagerNothingToWithdraw(msg.sender);
        if (block.timestamp < a.unbondingReleaseAt) {
            revert StakeManagerUnbondingNotOver(msg.sender, a.unbondingReleaseAt);
        }
        a.unbonding = 0;
        a.unbondingReleaseAt = 0;
        emit Withdrawn(msg.sender, amount);
        _stakingToken.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IStakeManager
    function syncJurorWeight(address who) external {
        AccountRecord storage a = _due(who);
        uint256 weight = a.reserve >= minJurorStake ? a.reserve : 0;
        if (a.pendingEpoch == 0 && weight == _pool.weightOf(who)) return;
        _enqueue(who, a);
    }

    /// @inheritdoc IStakeManager
    function applyQueued(uint256 maxCount) external returns (uint256 processed) {
        return _applyQueued(maxCount);
    }

    // ------------------------------------------------------------------ modules

    /// @inheritdoc IStakeManager
    /// @dev Applies up to MAX_APPLY due changes first. Returns (current epoch, `clock + delay`)
    /// when every due change is applied and at least `drawWindow` of the epoch is left; (current
    /// epoch, 0) while changes remain due (call again); (next epoch, 0) when the window is too short.
    /// Requirements: MODULE_ROLE.
    function scheduleDraw(uint256 clock, uint256 delay)
        external
        onlyRole(MODULE_ROLE)
        returns (uint64 epoch, uint64 targetBlock)
    {
        _applyQueued(MAX_APPLY);
        epoch = currentEpoch();
        if (!queueSettled()) return (epoch, 0);
        if (epochStart(epoch + 1) - block.timestamp < drawWindow) return (epoch + 1, 0);
        return (epoch, uint64(clock + delay));
    }

    /// @inheritdoc IStakeManager
    /// @dev Adds to an existing lock `lockId`.
    /// Emits {Locked}.
    /// Requirements: MODULE_ROLE; `0 < amount ≤ free stake of who`.
    function lock(address who, bytes32 lockId, uint256 amount) external onlyRole(MODULE_ROLE) {
        if (amount == 0) revert StakeManagerZeroAmount();
        AccountRecord storage a = _accounts[who];
        if (a.free < amount) revert StakeManagerInsufficientFreeStake(who, a.free, amount);
        a.free -= uint128(amount); // amount ≤ free
        a.locked += uint128(amount);
        Lock storage l = _locks[who][lockId];
        if (l.juror) revert StakeManagerLockKindMismatch(who, lockId);
        l.amount += uint128(amount); // a lock never exceeds its account's locked sum
        emit Locked(who, lockId, amount, false);
    }

    /// @inheritdoc IStakeManager
    /// @dev Returns 0 and does nothing when the lock is empty. A seat lock goes back to the
    /// reserve (weight unchanged), any other lock to free stake.
    /// Emits {Unlocked} when `released > 0`.
    /// Requirements: MODULE_ROLE.
    function unlock(address who, bytes32 lockId) external onlyRole(MODULE_ROLE) returns (uint256 released) {
        Lock storage l = _locks[who][lockId];
        released = l.amount;
        if (released == 0) return 0;
        AccountRecord storage a = _accounts[who];
        if (l.juror) {
            a.seatLocked -= uint128(released); // released = l.amount, a uint128
        } else {
            a.locked -= uint128(released); // released = l.amount, a uint128
            a.free += uint128(released);
        }
        delete _locks[who][lockId];
        emit Unlocked(who, lockId, released);
    }

    /// @inheritdoc IStakeManager
    /// @dev Takes `min(amount, lock)`; returns 0 and does nothing when that is zero. A slashed seat
    /// lock shrinks the reserve at once and queues the weight change for the next epoch.
    /// Emits {Slashed} when `taken > 0` (and {ReserveChangeQueued} for a seat lock).
    /// Requirements: MODULE_ROLE; `recipient` is not the zero address.
    function slash(address who, bytes32 lockId, uint256 amount, address recipient)
        external
        onlyRole(MODULE_ROLE)
        nonReentrant
        returns (uint256 taken)
    {
        if (recipient == address(0)) revert StakeManagerZeroAddress();
        Lock storage l = _locks[who][lockId];
        taken = amount < l.amount ? amount : l.amount;
        if (taken == 0) return 0;
        l.amount -= uint128(taken); // taken ≤ l.amount
        if (l.juror) {
            AccountRecord storage a = _due(who);
            a.seatLocked -= uint128(taken); // taken ≤ l.amount, a uint128
            a.reserve -= uint128(taken);
            // A pending leave may now exceed the reserve; applying caps it at the unlocked part.
            _enqueue(who, a);
        } else {
            _accounts[who].locked -= uint128(taken);
        }
        if (l.amount == 0) delete _locks[who][lockId];
        emit Slashed(who, lockId, taken, recipient);
        // The staking token is trusted and the call is nonReentrant.
        _stakingToken.safeTransfer(recipient, taken);
    }

    /// @inheritdoc IStakeManager
    /// @dev Seat `i` is the pick `keccak256(abi.encode(seed, nonce)) % totalWeight`, nonce counting
    /// every pick; a pick in `exclude` is redrawn (at most MAX_SKIPS times in all); a pick of an
    /// account already holding `weight / lockPerSeat` seats of this draw leaves the seat empty.
    /// Each seated account locks `min(seats·lockPerSeat, unlocked reserve)` (v3 deviation: a seat
    /// is never emptied by live locks, which calls after the seed could move). Returns each seated
    /// account once with its seat count.
    /// Emits {SeatsDrawn} and one {Locked} per seated account.
    /// Requirements: MODULE_ROLE; `lockPerSeat > 0`; `seats ≤ MAX_DRAW`; `exclude.length ≤
    /// MAX_EXCLUDE`; every change due by this epoch applied; `lockId` not a free-stake lock.
    function drawSeats(bytes32 seed, uint256 seats, uint256 lockPerSeat, bytes32 lockId, address[] calldata exclude)
        external
        onlyRole(MODULE_ROLE)
        returns (address[] memory accounts, uint256[] memory seatCounts)
    {
        if (lockPerSeat == 0) revert StakeManagerZeroAmount();
        (accounts, seatCounts) = _draw(seed, seats, lockPerSeat, exclude);
        for (uint256 i = 0; i < accounts.length; ++i) {
            address who = accounts[i];
            Lock storage l = _locks[who][lockId];
            if (l.amount != 0 && !l.juror) revert StakeManagerLockKindMismatch(who, lockId);
            AccountRecord storage a = _accounts[who];
            uint256 amount = seatCounts[i] * lockPerSeat;
            uint256 unlocked = a.reserve - a.seatLocked;
            if (amount > unlocked) amount = unlocked;
            a.seatLocked += uint128(amount); // amount ≤ unlocked reserve, a uint128
            l.amount += uint128(amount);
            l.juror = true;
            emit Locked(who, lockId, amount, true);
        }
        emit SeatsDrawn(lockId, seed, currentEpoch(), accounts, seatCounts);
    }

    /// @inheritdoc IStakeManager
    /// @dev Same picks as `drawSeats`, nothing locked, no seat left empty for want of reserve.
    /// Emits {SeatsDrawn} with a zero lock id.
    /// Requirements: MODULE_ROLE; `seats ≤ MAX_DRAW`; `exclude.length ≤ MAX_EXCLUDE`; queue settled.
    function drawAccounts(bytes32 seed, uint256 seats, address[] calldata exclude)
        external
        onlyRole(MODULE_ROLE)
        returns (address[] memory accounts, uint256[] memory seatCounts)
    {
        (accounts, seatCounts) = _draw(seed, seats, 0, exclude);
        emit SeatsDrawn(bytes32(0), seed, currentEpoch(), accounts, seatCounts);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IStakeManager
    function setUnbondingPeriod(uint64 period) external onlyRole(GOVERNOR_ROLE) {
        _setUnbondingPeriod(period);
    }

    /// @inheritdoc IStakeManager
    function setMinJurorStake(uint256 stake_) external onlyRole(GOVERNOR_ROLE) {
        _setMinJurorStake(stake_);
    }

    // ------------------------------------------------------------------ internal

    function _setUnbondingPeriod(uint64 period) private {
        if (period < MIN_UNBONDING_PERIOD || period > MAX_UNBONDING_PERIOD) {
            revert StakeManagerInvalidUnbondingPeriod(period, MIN_UNBONDING_PERIOD, MAX_UNBONDING_PERIOD);
        }
        emit UnbondingPeriodSet(unbondingPeriod, period);
        unbondingPeriod = period;
    }

    function _setMinJurorStake(uint256 stake_) private {
        if (stake_ == 0) revert StakeManagerInvalidMinJurorStake(stake_);
        emit MinJurorStakeSet(minJurorStake, stake_);
        minJurorStake = stake_;
    }

    /// @dev Keeps every amount below 2^128 (issue 17's packed amounts and locks): refuses a deposit
    /// of `amount` that would make this contract hold 2^128 or more. By the conservation invariant
    /// each account's amounts, and any sum of them, are at most that balance, so no later move
    /// (unlock, leave, apply) can overflow 128 bits. Checked before any effect, so an oversized
    /// deposit gets this error, not an overflow in a packed field. The staking token is trusted: it
    /// moves exactly `amount`.
    function _checkIncoming(uint256 amount) private view {
        uint256 held = _stakingToken.balanceOf(address(this));
        uint256 max = type(uint128).max;
        if (held > max || amount > max - held) {
            revert StakeManagerHoldingsTooLarge(amount > type(uint256).max - held ? type(uint256).max : held + amount, max);
        }
    }

    /// @dev The account, with a queued change that is already due applied first (its queue entry
    /// then does nothing), so a new change never merges into one that applies earlier.
    function _due(address who) private returns (AccountRecord storage a) {
        a = _accounts[who];
        if (a.pendingEpoch != 0 && a.pendingEpoch <= currentEpoch()) _apply(who, a);
    }

    /// @dev Queues `who`'s change for the next epoch (once per epoch and account).
    function _enqueue(address who, AccountRecord storage a) private {
        uint64 next = currentEpoch() + 1;
        if (a.pendingEpoch != next) {
            a.pendingEpoch = next;
            _queue.push(Entry(who, next));
        }
        emit ReserveChangeQueued(who, next, a.pendingJoin, a.pendingLeave);
    }

    function _apply(address who, AccountRecord storage a) private {
        uint64 epoch = a.pendingEpoch;
        uint256 reserve = uint256(a.reserve) + a.pendingJoin;
        uint256 unlocked = reserve - a.seatLocked;
        uint256 leave = a.pendingLeave < unlocked ? a.pendingLeave : unlocked;
        reserve -= leave;
        a.free += SafeCast.toUint128(leave);
        a.reserve = SafeCast.toUint128(reserve);
        a.pendingJoin = 0;
        a.pendingLeave = 0;
        a.pendingEpoch = 0;
        uint256 weight = reserve >= minJurorStake ? reserve : 0;
        _pool.set(who, weight);
        emit ReserveChangeApplied(who, epoch, reserve, weight);
    }

    function _applyQueued(uint256 maxCount) private returns (uint256 processed) {
        uint64 epoch = currentEpoch();
        uint256 head = _queueHead;
        uint256 end = _queue.length;
        while (processed < maxCount && head < end) {
            Entry memory e = _queue[head];
            if (e.epoch > epoch) break;
            AccountRecord storage a = _accounts[e.who];
            if (a.pendingEpoch == e.epoch) _apply(e.who, a);
            delete _queue[head];
            ++head;
            ++processed;
        }
        _queueHead = head;
    }

    /// @dev Stake-weighted draw with replacement from the current epoch's weights.
    function _draw(bytes32 seed, uint256 seats, uint256 lockPerSeat, address[] calldata exclude)
        private
        view
        returns (address[] memory accounts, uint256[] memory seatCounts)
    {
        if (seats > MAX_DRAW) revert StakeManagerDrawTooLarge(seats, MAX_DRAW);
        if (exclude.length > MAX_EXCLUDE) revert StakeManagerTooManyExcluded(exclude.length, MAX_EXCLUDE);
        // Consumers schedule seeds only once the queue is settled (`scheduleDraw`); a direct draw
        // on an unsettled tree would read a layout still open to reordering.
        if (!queueSettled()) revert StakeManagerQueueBacklog(_queue.length - _queueHead);
        accounts = new address[](seats);
        seatCounts = new uint256[](seats);
        uint256 distinct = 0;
        uint256 sum = _pool.total();
        uint256 nonce = 0;
        uint256 skips = 0;
        for (uint256 seat = 0; seat < seats && sum != 0;) {
            address who = _pool.draw(uint256(keccak256(abi.encode(seed, nonce++))) % sum);
            if (_contains(exclude, who)) {
                if (++skips > MAX_SKIPS) break;
                continue;
            }
            ++seat;
            uint256 i = 0;
            while (i < distinct && accounts[i] != who) ++i;
            // Seats beyond what the frozen weight covers stay empty, not redrawn.
            if (lockPerSeat != 0 && (seatCounts[i] + 1) * lockPerSeat > _pool.weightOf(who)) continue;
            if (i == distinct) accounts[distinct++] = who;
            ++seatCounts[i];
        }
        // Shrink both arrays to the accounts seated; memory past the new length stays allocated.
        assembly ("memory-safe") {
            mstore(accounts, distinct)
            mstore(seatCounts, distinct)
        }
    }

    function _contains(address[] calldata list, address who) private pure returns (bool) {
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] == who) return true;
        }
        return false;
    }
}
