// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BlockhashRandomness} from "../BlockhashRandomness.sol";

/// @dev BlockhashRandomness as its constructor would see Ethereum mainnet (chain id 1).
contract BlockhashRandomnessOnMainnet is BlockhashRandomness {
    function _chainId() internal pure override returns (uint256) {
        return 1;
    }
}

/// @dev BlockhashRandomness as its constructor would see a geth/Ganache dev chain (chain id 1337).
contract BlockhashRandomnessOnDevChain is BlockhashRandomness {
    function _chainId() internal pure override returns (uint256) {
        return 1337;
    }
}
