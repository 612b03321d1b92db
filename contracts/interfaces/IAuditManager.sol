// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ICanaryRegistry} from "./ICanaryRegistry.sol";

/// @title IAuditManager
/// @notice Assigned auditors, attestations and canary jobs (PROTOCOL.md §10.8).
interface IAuditManager {
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
}
