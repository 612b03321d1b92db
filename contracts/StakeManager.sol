// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IStakeManager} from "./interfaces/IStakeManager.sol";
import {SortitionSumTree} from "./lib/SortitionSumTree.sol";

/// @title StakeManager
/// @notice One staking token; per account free / locked / unbonding stake and a stake-weighted
/// juror pool (PROTOCOL.md §6, §10.7, §10.10).
/// - Only free stake can be unbonded; locked stake never. One unbonding bucket per account: a new
///   request adds to it and restarts its timer.
/// - Locks are keyed by `(account, lockId)`; a slash takes only from the lock it names and sends
///   the tokens to the calling module's `recipient`.
/// - Juror weight = free stake when it is ≥ `minJurorStake` and the account sits on no committee,
///   else zero; kept in a sortition sum tree so a draw costs O(log N).
/// Invariant: token balance of this contract = Σ (free + locked + unbonding).
contract StakeManager is IStakeManager, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SortitionSumTree for SortitionSumTree.Tree;

    /// @notice Sets `unbondingPeriod` and `minJurorStake`.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice Locks, unlocks, slashes and draws (JobMarket, DisputeManager, AuditManager).
    bytes32 public constant MODULE_ROLE = keccak256("MODULE_ROLE");

    uint64 public constant MIN_UNBONDING_PERIOD = 1 hours;
    uint64 public constant MAX_UNBONDING_PERIOD = 90 days;
    /// @notice Most accounts one draw returns (bounds its gas).
    uint256 public constant MAX_DRAW = 64;
    /// @notice Most addresses one draw may exclude.
    uint256 public constant MAX_EXCLUDE = 8;
    /// @notice Most drawn accounts one draw may skip for lack of free stake before it stops.
    uint256 public constant MAX_SKIPS = 16;

    struct Lock {
        uint256 amount;
        bool juror;
    }

    IERC20 private immutable _stakingToken;

    /// @notice Delay between `requestUnstake` and `withdraw`.
    uint64 public unbondingPeriod;
    /// @notice Least free stake that gives an account juror weight.
    uint256 public minJurorStake;

    mapping(address who => Account) private _accounts;
    mapping(address who => mapping(bytes32 lockId => Lock)) private _locks;
    SortitionSumTree.Tree private _pool;

    event UnbondingPeriodSet(uint64 oldPeriod, uint64 newPeriod);
    event MinJurorStakeSet(uint256 oldStake, uint256 newStake);
    /// @notice `syncJurorWeight` recomputed `account`'s weight (after a `minJurorStake` change).
    event JurorWeightSynced(address indexed account, uint256 weight);
    /// @notice `drawAccounts` drew `accounts` (no stake locked).
    event AccountsDrawn(bytes32 seed, address[] accounts);

    error StakeManagerZeroAddress();
    error StakeManagerZeroAmount();
    error StakeManagerInsufficientFreeStake(address account, uint256 free, uint256 needed);
    error StakeManagerNothingToWithdraw(address account);
    error StakeManagerUnbondingNotOver(address account, uint64 releaseAt);
    error StakeManagerInvalidUnbondingPeriod(uint64 period, uint64 min, uint64 max);
    error StakeManagerInvalidMinJurorStake(uint256 stake);
    error StakeManagerDrawTooLarge(uint256 count, uint256 max);
    error StakeManagerTooManyExcluded(uint256 length, uint256 max);

    /// @param token_ The staking token.
    /// @param admin Receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE (grant MODULE_ROLE to the modules).
    /// Emits {UnbondingPeriodSet} and {MinJurorStakeSet}.
    constructor(IERC20 token_, address admin, uint64 unbondingPeriod_, uint256 minJurorStake_) {
        if (address(token_) == address(0) || admin == address(0)) revert StakeManagerZeroAddress();
        _stakingToken = token_;
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
        return _accounts[who];
    }

    /// @inheritdoc IStakeManager
    function lockedAmount(address who, bytes32 lockId) external view returns (uint256) {
        return _locks[who][lockId].amount;
    }

    /// @notice True when the lock `lockId` of `who` is a juror lock.
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

    // ------------------------------------------------------------------ stakers

    /// @notice Pulls `amount` staking tokens from the caller into its free stake.
    /// Emits {Staked}.
    /// Requirements: `amount > 0`; the caller approved this contract for `amount`.
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert StakeManagerZeroAmount();
        Account storage a = _accounts[msg.sender];
        a.free += amount;
        _syncWeight(msg.sender);
        emit Staked(msg.sender, amount, a.free);
        // The staking token is trusted and the call is nonReentrant.
        _stakingToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves `amount` of the caller's free stake into its unbonding bucket and restarts
    /// the bucket's timer at `now + unbondingPeriod`.
    /// Emits {UnstakeRequested}.
    /// Requirements: `0 < amount ≤ free`.
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert StakeManagerZeroAmount();
        Account storage a = _accounts[msg.sender];
        if (a.free < amount) revert StakeManagerInsufficientFreeStake(msg.sender, a.free, amount);
        a.free -= amount;
        a.unbonding += amount;
        a.unbondingReleaseAt = uint64(block.timestamp) + unbondingPeriod;
        _syncWeight(msg.sender);
        emit UnstakeRequested(msg.sender, amount, a.unbonding, a.unbondingReleaseAt);
    }

    /// @notice Sends the caller its whole unbonding bucket.
    /// Emits {Withdrawn}.
    /// Requirements: the bucket is not empty and its release time has passed.
    function withdraw() external nonReentrant {
        Account storage a = _accounts[msg.sender];
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

    /// @notice Recomputes the juror weight of `who` (needed only after `minJurorStake` changed;
    /// every other change updates it at once). Anyone may call.
    /// Emits {JurorWeightSynced}.
    function syncJurorWeight(address who) external {
        emit JurorWeightSynced(who, _syncWeight(who));
    }

    // ------------------------------------------------------------------ modules

    /// @inheritdoc IStakeManager
    /// @dev Adds to an existing lock `lockId`.
    /// Emits {Locked}.
    /// Requirements: MODULE_ROLE; `0 < amount ≤ free stake of who`.
    function lock(address who, bytes32 lockId, uint256 amount) external onlyRole(MODULE_ROLE) {
        _lock(who, lockId, amount, false);
    }

    /// @inheritdoc IStakeManager
    /// @dev Returns 0 and does nothing when the lock is empty. Releasing a juror lock ends that
    /// committee duty and restores the account's juror weight.
    /// Emits {Unlocked} when `released > 0`.
    /// Requirements: MODULE_ROLE.
    function unlock(address who, bytes32 lockId) external onlyRole(MODULE_ROLE) returns (uint256 released) {
        Lock storage l = _locks[who][lockId];
        released = l.amount;
        if (released == 0) return 0;
        Account storage a = _accounts[who];
        a.locked -= released;
        a.free += released;
        _closeLock(who, lockId, l);
        emit Unlocked(who, lockId, released);
    }

    /// @inheritdoc IStakeManager
    /// @dev Takes `min(amount, lock)`; returns 0 and does nothing when that is zero. Emptying a
    /// juror lock ends that committee duty.
    /// Emits {Slashed} when `taken > 0`.
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
        _accounts[who].locked -= taken;
        l.amount -= taken;
        if (l.amount == 0) _closeLock(who, lockId, l);
        emit Slashed(who, lockId, taken, recipient);
        // The staking token is trusted and the call is nonReentrant.
        _stakingToken.safeTransfer(recipient, taken);
    }

    /// @inheritdoc IStakeManager
    /// @dev Draw `i` (counting skipped draws) picks `keccak256(abi.encode(seed, i)) % totalWeight`;
    /// each pick's weight is zeroed for the rest of the draw. A pick whose free stake is below
    /// `lockAmount` or `minJurorStake` is skipped (at most MAX_SKIPS times).
    /// Emits {JurorsDrawn} and one {Locked} per juror.
    /// Requirements: MODULE_ROLE; `lockAmount > 0`; `count ≤ MAX_DRAW`; `exclude.length ≤ MAX_EXCLUDE`.
    function drawJurors(bytes32 seed, uint256 count, uint256 lockAmount, bytes32 lockId, address[] calldata exclude)
        external
        onlyRole(MODULE_ROLE)
        returns (address[] memory jurors)
    {
        if (lockAmount == 0) revert StakeManagerZeroAmount();
        address[] memory skipped;
        (jurors, skipped) = _draw(seed, count, lockAmount, exclude);
        for (uint256 i = 0; i < jurors.length; ++i) {
            _lock(jurors[i], lockId, lockAmount, true);
        }
        _restore(exclude, skipped);
        emit JurorsDrawn(lockId, seed, jurors);
    }

    /// @inheritdoc IStakeManager
    /// @dev Same draw as `drawJurors` with no lock; every weight is restored afterwards.
    /// Emits {AccountsDrawn}.
    /// Requirements: MODULE_ROLE; `count ≤ MAX_DRAW`; `exclude.length ≤ MAX_EXCLUDE`.
    function drawAccounts(bytes32 seed, uint256 count, address[] calldata exclude)
        external
        onlyRole(MODULE_ROLE)
        returns (address[] memory accounts)
    {
        address[] memory skipped;
        (accounts, skipped) = _draw(seed, count, 0, exclude);
        for (uint256 i = 0; i < accounts.length; ++i) {
            _syncWeight(accounts[i]);
        }
        _restore(exclude, skipped);
        emit AccountsDrawn(seed, accounts);
    }

    // ------------------------------------------------------------------ governance

    /// @notice Sets the delay between `requestUnstake` and `withdraw` for later requests.
    /// Emits {UnbondingPeriodSet}.
    /// Requirements: GOVERNOR_ROLE; `MIN_UNBONDING_PERIOD ≤ period ≤ MAX_UNBONDING_PERIOD`.
    function setUnbondingPeriod(uint64 period) external onlyRole(GOVERNOR_ROLE) {
        _setUnbondingPeriod(period);
    }

    /// @notice Sets the least free stake that gives juror weight. Existing weights follow at each
    /// account's next stake change, draw or `syncJurorWeight`; a draw skips stale picks.
    /// Emits {MinJurorStakeSet}.
    /// Requirements: GOVERNOR_ROLE; `stake > 0`.
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

    /// @dev The one place free stake moves into a lock.
    function _lock(address who, bytes32 lockId, uint256 amount, bool juror) private {
        if (amount == 0) revert StakeManagerZeroAmount();
        Account storage a = _accounts[who];
        if (a.free < amount) revert StakeManagerInsufficientFreeStake(who, a.free, amount);
        a.free -= amount;
        a.locked += amount;
        Lock storage l = _locks[who][lockId];
        l.amount += amount;
        // A drawn juror sits on no committee (its weight was non-zero), so it holds no juror lock yet.
        if (juror) {
            l.juror = true;
            a.jurorDuties += 1;
        }
        _syncWeight(who);
        emit Locked(who, lockId, amount, l.juror);
    }

    /// @dev Deletes an emptied (or fully released) lock; a juror lock ends one committee duty.
    function _closeLock(address who, bytes32 lockId, Lock storage l) private {
        if (l.juror) _accounts[who].jurorDuties -= 1;
        delete _locks[who][lockId];
        _syncWeight(who);
    }

    /// @dev Writes the weight `who` should have into the pool and returns it.
    function _syncWeight(address who) private returns (uint256 weight) {
        Account storage a = _accounts[who];
        weight = a.jurorDuties == 0 && a.free >= minJurorStake ? a.free : 0;
        _pool.set(who, weight);
    }

    /// @dev Stake-weighted draw without replacement; every pick, skip and excluded address has
    /// weight zero on return (the caller restores them).
    function _draw(bytes32 seed, uint256 count, uint256 minFree, address[] calldata exclude)
        private
        returns (address[] memory picked, address[] memory skipped)
    {
        if (count > MAX_DRAW) revert StakeManagerDrawTooLarge(count, MAX_DRAW);
        if (exclude.length > MAX_EXCLUDE) revert StakeManagerTooManyExcluded(exclude.length, MAX_EXCLUDE);
        for (uint256 i = 0; i < exclude.length; ++i) {
            if (exclude[i] != address(0)) _pool.set(exclude[i], 0);
        }
        picked = new address[](count);
        skipped = new address[](MAX_SKIPS);
        uint256 nPicked = 0;
        uint256 nSkipped = 0;
        uint256 nonce = 0;
        uint256 floor = minFree > minJurorStake ? minFree : minJurorStake;
        while (nPicked < count && nSkipped < MAX_SKIPS) {
            uint256 sum = _pool.total();
            if (sum == 0) break;
            address who = _pool.draw(uint256(keccak256(abi.encode(seed, nonce))) % sum);
            ++nonce;
            _pool.set(who, 0);
            if (_accounts[who].free < floor) {
                skipped[nSkipped++] = who;
            } else {
                picked[nPicked++] = who;
            }
        }
        // Shrink both arrays to their used length; memory past the new length stays allocated.
        assembly ("memory-safe") {
            mstore(picked, nPicked)
            mstore(skipped, nSkipped)
        }
    }

    function _restore(address[] calldata exclude, address[] memory skipped) private {
        for (uint256 i = 0; i < exclude.length; ++i) {
            if (exclude[i] != address(0)) _syncWeight(exclude[i]);
        }
        for (uint256 i = 0; i < skipped.length; ++i) {
            _syncWeight(skipped[i]);
        }
    }
}
