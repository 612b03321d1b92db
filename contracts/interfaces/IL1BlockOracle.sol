// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IL1BlockOracle
/// @notice The part of the OP Stack `L1Block` predeploy (0x4200000000000000000000000000000000000015)
/// that {L1OriginRandomness} reads: the number and hash of the L2 block's L1 origin. The
/// derivation sets them in the first transaction of every L2 block; the origin advances by zero or
/// one L1 block per L2 block, so every L1 block is the origin of at least one L2 block.
interface IL1BlockOracle {
    /// @notice The number of the current L1 origin block.
    function number() external view returns (uint64);

    /// @notice The hash of the current L1 origin block.
    function hash() external view returns (bytes32);
}
