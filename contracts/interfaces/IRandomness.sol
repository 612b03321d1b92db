// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRandomness
/// @notice Randomness of a block fixed before it is mined (PROTOCOL.md §10.12).
/// Consumers record a target block (`block.number + delay`) when they commit to a draw and read
/// the value once that block is mined. An expired target (older than the source can see) is
/// re-targeted by the consumer with a permissionless call.
interface IRandomness {
    /// @notice The current block in the numbering of this source's targets: `block.number` for
    /// sources of the chain itself, the L1 origin's number for L1OriginRandomness. Consumers target
    /// `currentBlock() + delay` (on an L2, `block.number + delay` would name a wrong L1 block).
    function currentBlock() external view returns (uint256);

    /// @notice True when the value of `blockNumber` can be read now.
    function isAvailable(uint256 blockNumber) external view returns (bool);

    /// @notice True when `blockNumber` is mined but too old for this source (re-target it).
    function isExpired(uint256 blockNumber) external view returns (bool);

    /// @notice The random value of `blockNumber`. Reverts unless `isAvailable(blockNumber)`.
    function valueAt(uint256 blockNumber) external view returns (bytes32);
}
