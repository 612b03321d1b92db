// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {UPowHashing} from "../lib/UPowHashing.sol";

/// @title UPowHashingHarness
/// @notice Test-only: exposes UPowHashing so the TypeScript twin (verifier/engine/hashing.ts) can be
/// checked against it on the same inputs.
contract UPowHashingHarness {
    /// @notice UPowHashing.depth.
    function depth(uint256 n) external pure returns (uint256) {
        return UPowHashing.depth(n);
    }

    /// @notice UPowHashing.verify.
    function verify(bytes32 root, uint256 n, uint256 index, bytes32 leaf, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return UPowHashing.verify(root, n, index, leaf, proof);
    }

    /// @notice UPowHashing.chunkLeaf.
    function chunkLeaf(bytes calldata chunk) external pure returns (bytes32) {
        return UPowHashing.chunkLeaf(chunk);
    }

    /// @notice UPowHashing.stepLeaf.
    function stepLeaf(uint64 globalStep, bytes32 stateHash) external pure returns (bytes32) {
        return UPowHashing.stepLeaf(globalStep, stateHash);
    }

    /// @notice UPowHashing.checkpointLeaf.
    function checkpointLeaf(uint64 index, bytes32 stateHash, bytes32 stepRoot) external pure returns (bytes32) {
        return UPowHashing.checkpointLeaf(index, stateHash, stepRoot);
    }

    /// @notice UPowHashing.batchLeaf.
    function batchLeaf(uint64 batchIndex, bytes32 batchHash) external pure returns (bytes32) {
        return UPowHashing.batchLeaf(batchIndex, batchHash);
    }

    /// @notice UPowHashing.fileHash.
    function fileHash(uint64 byteLength, bytes32 chunkRoot) external pure returns (bytes32) {
        return UPowHashing.fileHash(byteLength, chunkRoot);
    }

    /// @notice UPowHashing.chunkCount.
    function chunkCount(uint256 byteLength) external pure returns (uint256) {
        return UPowHashing.chunkCount(byteLength);
    }
}
