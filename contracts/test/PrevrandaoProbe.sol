// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Test-only: records `block.prevrandao` of the block it is called in, to check that the
/// header's mixHash is what the EVM exposes.
contract PrevrandaoProbe {
    /// @notice Block `blockNumber` had prevrandao `value`.
    event Observed(uint256 indexed blockNumber, uint256 value);

    /// @notice Emits {Observed} for the current block.
    function observe() external {
        emit Observed(block.number, block.prevrandao);
    }
}
