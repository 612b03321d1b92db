// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IVrfCoordinator
/// @notice The VRF service that {VrfRandomness} uses: it takes a request and later calls back
/// `fulfill(requestId, randomWord)` on the requester, once, with a verifiable random word. Deploy
/// only with a coordinator (and a funded subscription) whose requests never time out: a request is
/// never repeated, so an unfulfilled one stalls its consumers.
interface IVrfCoordinator {
    /// @notice Requests one random word for `msg.sender`.
    /// @return requestId The id the coordinator will fulfil.
    function requestRandomWord() external returns (uint256 requestId);
}
