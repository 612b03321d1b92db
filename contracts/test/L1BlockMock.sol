// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IL1BlockOracle} from "../interfaces/IL1BlockOracle.sol";

/// @notice Test-only OP Stack `L1Block` predeploy. The test plays the derivation: it feeds the
/// number and hash of real blocks of the local chain (standing in for L1) with {setL1BlockValues}.
/// Like the derivation, the origin never skips a block: it stays or advances by one.
contract L1BlockMock is IL1BlockOracle {
    /// @inheritdoc IL1BlockOracle
    uint64 public number;
    /// @inheritdoc IL1BlockOracle
    bytes32 public hash;

    /// @dev The origin would move from `current` to `next`, which is neither `current` nor the next.
    error L1BlockMockSkipped(uint64 current, uint64 next);

    /// @notice Sets the L1 origin (any block the first time, then the same or the next one).
    function setL1BlockValues(uint64 number_, bytes32 hash_) external {
        if (hash != bytes32(0) && number_ != number && number_ != number + 1) revert L1BlockMockSkipped(number, number_);
        number = number_;
        hash = hash_;
    }
}
