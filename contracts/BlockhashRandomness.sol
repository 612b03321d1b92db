// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomness} from "./interfaces/IRandomness.sol";

/// @title BlockhashRandomness
/// @notice `blockhash` of a target block (PROTOCOL.md §10.12). For local test chains only
/// (PROTOCOL-v3 V3.5): a block producer can withhold a block to re-roll its hash, and an expired
/// target is re-targeted, so the constructor refuses any chain but Hardhat (31337) and Ganache or
/// geth --dev (1337). Use {PrevrandaoRandomness} on L1, {L1OriginRandomness} or {VrfRandomness}
/// on an L2 (docs/randomness.md). A target is readable once mined and for the 256 blocks the EVM
/// keeps; after that it is expired and the consumer re-targets it.
contract BlockhashRandomness is IRandomness {
    /// @notice Blocks back that `blockhash` can see.
    uint256 public constant HISTORY = 256;

    /// @dev `blockNumber` is not mined yet (`current` is the block being executed).
    error BlockhashRandomnessNotMined(uint256 blockNumber, uint256 current);
    /// @dev `blockNumber` is older than the last HISTORY blocks before `current`.
    error BlockhashRandomnessExpired(uint256 blockNumber, uint256 current);
    /// @dev Deployed on chain `chainId`, which is not a local test chain (31337 or 1337).
    error BlockhashRandomnessNotTestChain(uint256 chainId);

    /// @dev Requirements: `block.chainid` is 31337 or 1337.
    constructor() {
        uint256 chainId = _chainId();
        if (chainId != 31337 && chainId != 1337) revert BlockhashRandomnessNotTestChain(chainId);
    }

    /// @inheritdoc IRandomness
    function currentBlock() external view returns (uint256) {
        return block.number;
    }

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

    /// @dev The chain the constructor checks (a seam for tests of the refusal on a test chain).
    function _chainId() internal view virtual returns (uint256) {
        return block.chainid;
    }
}
