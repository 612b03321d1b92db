// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IAuditManager
/// @notice Assigned auditors, attestations and canary jobs (PROTOCOL.md §10.8).
interface IAuditManager {
    /// @notice JOB_MARKET_ROLE: `fee` of `token` was transferred to this contract for `jobId`'s attesters;
    /// shares are claimable by attesters, the rest goes back to `requester`.
    function onJobFinalized(uint256 jobId, IERC20 token, uint256 fee, address requester) external;
    /// @notice JOB_MARKET_ROLE: the job was rejected; attesters' locks are released... or slashed (canary).
    function onJobRejected(uint256 jobId) external;
}
