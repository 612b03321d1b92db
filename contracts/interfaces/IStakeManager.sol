// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IStakeManager
/// @notice One staking token; per account free / locked / unbonding stake (PROTOCOL.md §6, §10.10).
/// Locks are keyed by `(account, lockId)`; a slash takes only from the lock it names.
/// Modules (JobMarket, DisputeManager, AuditManager) hold MODULE_ROLE.
interface IStakeManager {
    struct Account {
        uint256 free;
        uint256 locked; // sum of all this account's locks
        uint256 unbonding;
        uint64 unbondingReleaseAt;
        uint32 jurorDuties; // committees the account currently sits on (weight is zero while > 0)
    }

    event Staked(address indexed account, uint256 amount, uint256 free);
    event UnstakeRequested(address indexed account, uint256 amount, uint256 unbonding, uint64 releaseAt);
    event Withdrawn(address indexed account, uint256 amount);
    event Locked(address indexed account, bytes32 indexed lockId, uint256 amount, bool juror);
    event Unlocked(address indexed account, bytes32 indexed lockId, uint256 amount);
    event Slashed(address indexed account, bytes32 indexed lockId, uint256 amount, address indexed recipient);
    event JurorsDrawn(bytes32 indexed lockId, bytes32 seed, address[] jurors);

    function stakingToken() external view returns (IERC20);
    function account(address who) external view returns (Account memory);
    function lockedAmount(address who, bytes32 lockId) external view returns (uint256);
    /// @notice Weight of `who` in the juror pool (free stake when ≥ minJurorStake and on no committee).
    function jurorWeight(address who) external view returns (uint256);
    function totalJurorWeight() external view returns (uint256);

    function stake(uint256 amount) external;
    function requestUnstake(uint256 amount) external;
    function withdraw() external;

    /// @notice Moves `amount` of `who`'s free stake into the lock `lockId`. MODULE_ROLE.
    function lock(address who, bytes32 lockId, uint256 amount) external;
    /// @notice Releases the whole lock `lockId` of `who` back to free stake. MODULE_ROLE.
    function unlock(address who, bytes32 lockId) external returns (uint256 released);
    /// @notice Takes up to `amount` from lock `lockId` of `who` and transfers it to `recipient`. MODULE_ROLE.
    function slash(address who, bytes32 lockId, uint256 amount, address recipient) external returns (uint256 taken);

    /// @notice Draws up to `count` distinct jurors, stake-weighted, O(log N) per draw, never one in
    /// `exclude`; locks `lockAmount` of each under `lockId` as a juror lock (weight zero until
    /// unlocked). Returns fewer when the pool runs out. MODULE_ROLE.
    function drawJurors(bytes32 seed, uint256 count, uint256 lockAmount, bytes32 lockId, address[] calldata exclude)
        external
        returns (address[] memory jurors);

    /// @notice Draws up to `count` distinct accounts, stake-weighted, without locking anything
    /// (assigned auditors). MODULE_ROLE.
    function drawAccounts(bytes32 seed, uint256 count, address[] calldata exclude)
        external
        returns (address[] memory accounts);
}
