// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Test-only stand-in for the EIP-2935 history contract, put at its address with
/// `hardhat_setCode` (Hardhat's own code there only reverts). Like the real one it takes the
/// 32-byte block number as calldata, reverts unless the number is one of the last 8191 blocks,
/// and returns the word in storage slot `number % 8191`. The real contract's slots are written by
/// a system call each block; here the test writes them with {fill} from real block hashes.
contract HistoryStorageMock {
    uint256 private constant WINDOW = 8191;

    /// @notice Stores `hash` as the hash of block `blockNumber` (slot `blockNumber % 8191`).
    function fill(uint256 blockNumber, bytes32 hash) external {
        assembly {
            sstore(mod(blockNumber, WINDOW), hash)
        }
    }

    /// @notice The EIP-2935 `get`: 32-byte number in, 32-byte hash out; bare revert outside window.
    // solhint-disable-next-line no-complex-fallback
    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 blockNumber = input.length == 32 ? uint256(bytes32(input)) : type(uint256).max;
        if (blockNumber >= block.number || block.number - blockNumber > WINDOW) {
            assembly {
                revert(0, 0)
            }
        }
        bytes32 hash;
        assembly {
            hash := sload(mod(blockNumber, WINDOW))
        }
        return abi.encode(hash);
    }
}
