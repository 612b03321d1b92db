// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVrfCoordinator} from "../interfaces/IVrfCoordinator.sol";

/// @notice The callback of a VRF consumer.
interface IVrfConsumer {
    /// @notice Delivers the random word of `requestId`.
    function fulfill(uint256 requestId, uint256 randomWord) external;
}

/// @notice Test-only VRF coordinator. Like a real one it hands out fresh request ids and fulfils
/// each request once, in a later block than the request, calling back the requester; the word is
/// derived from the request block's hash and the id. {deliver} plays a faulty coordinator.
contract VrfCoordinatorMock is IVrfCoordinator {
    struct Request {
        address consumer;
        uint256 blockNumber;
        bool fulfilled;
    }

    uint256 public lastRequestId;
    mapping(uint256 requestId => Request) public requests;

    /// @notice `consumer` requested a word as `requestId`.
    event RandomWordRequested(uint256 indexed requestId, address indexed consumer);

    /// @dev `requestId` is unknown or fulfilled already.
    error VrfCoordinatorMockNotPending(uint256 requestId);
    /// @dev `requestId` was made in the current block; it is fulfilled in a later one.
    error VrfCoordinatorMockSameBlock(uint256 requestId);

    /// @inheritdoc IVrfCoordinator
    function requestRandomWord() external returns (uint256 requestId) {
        requestId = ++lastRequestId;
        requests[requestId] = Request(msg.sender, block.number, false);
        emit RandomWordRequested(requestId, msg.sender);
    }

    /// @notice Fulfils `requestId` (anyone may trigger it, as a VRF node would).
    function fulfill(uint256 requestId) external {
        Request storage r = requests[requestId];
        if (r.consumer == address(0) || r.fulfilled) revert VrfCoordinatorMockNotPending(requestId);
        if (r.blockNumber == block.number) revert VrfCoordinatorMockSameBlock(requestId);
        r.fulfilled = true;
        IVrfConsumer(r.consumer).fulfill(requestId, wordOf(requestId));
    }

    /// @notice The word request `requestId` is fulfilled with.
    function wordOf(uint256 requestId) public view returns (uint256) {
        return uint256(keccak256(abi.encode(blockhash(requests[requestId].blockNumber), requestId)));
    }

    /// @notice Calls `consumer.fulfill(requestId, word)` unchecked: a faulty coordinator.
    function deliver(address consumer, uint256 requestId, uint256 word) external {
        IVrfConsumer(consumer).fulfill(requestId, word);
    }
}
