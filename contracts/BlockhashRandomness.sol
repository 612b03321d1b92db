// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomness} from "./interfaces/IRandomness.sol";

/// @title BlockhashRandomness
/// @notice `blockhash` of a target block (PROTOCOL.md §10.12). Fit for local and test chains only:
/// a block producer can withhold a block to re-roll its hash. A target is readable once mined and
/// for the 256 blocks the EVM keeps; after that it is expired and the consumer re-targets it.
contract BlockhashRandomness is IRandomness {
    /// @notice Blocks back that `blockhash` can see.
    uint256 public constant HISTORY = 256;

    /// @dev `blockNumber` is not mined yet (`current` is the block being executed).
    error BlockhashRandomnessNotMined(uint256 blockNumber, uint256 current);
    /// @dev `blockNumber` is older than the last HISTORY blocks before `current`.
    error BlockhashRandomnessExpired(uint256 blockNumber, uint256 current);

    /// @inheritdoc IRandomness
    function isAvailable(uint256 blockNumber) public view returns (bool) {
        return blockNumber < block.number && block.number - blockNumber <= HISTORY;
    }

    /// @inheritdoc IRandomness
    function isExpired(uint256 blockNumber) public view returns (bool) {
        return blockNumber < block.number && block.number - blockNumber > HISTORY;
    }

    /// @inheritdoc IRandomness
    /// @dev Requirements: `blockNumber < block.number` and `block.number - blockNumber ≤ HISTORY`.
    function valueAt(uint256 blockNumber) external view returns (bytes32) {
        if (blockNumber >= block.number) revert BlockhashRandomnessNotMined(blockNumber, block.number);
        if (isExpired(blockNumber)) revert BlockhashRandomnessExpired(blockNumber, block.number);
        return blockhash(blockNumber);
    }
}
