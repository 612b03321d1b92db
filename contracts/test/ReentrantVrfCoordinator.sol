// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVrfCoordinator} from "../interfaces/IVrfCoordinator.sol";

/// @notice The request entry point of VrfRandomness, as this attacker sees it.
interface IVrfRequester {
    /// @notice Requests the word of `blockNumber`.
    function request(uint256 blockNumber) external returns (uint256);
}

/// @notice Test-only hostile coordinator: while taking a request it requests the same block again,
/// to check that one block can never get two requests.
contract ReentrantVrfCoordinator is IVrfCoordinator {
    uint256 private _calls;

    /// @inheritdoc IVrfCoordinator
    function requestRandomWord() external returns (uint256 requestId) {
        requestId = ++_calls;
        if (_calls == 1) IVrfRequester(msg.sender).request(block.number);
    }
}
