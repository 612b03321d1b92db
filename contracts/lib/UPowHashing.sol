// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title UPowHashing
/// @notice Positional sha256 Merkle trees and the domain-tagged leaves of docs/encoding.md.
/// @dev OpenZeppelin's MerkleProof sorts pairs and binds no position; these trees bind the index.
library UPowHashing {
    uint256 internal constant CHUNK_SIZE = 32768;

    /// @notice ceil(log2(n)); depth(1) = 0.
    function depth(uint256 n) internal pure returns (uint256 d) {
        uint256 width = 1;
        while (width < n) {
            width <<= 1;
            ++d;
        }
    }

    /// @notice Recomputes the root from a leaf and its siblings; false when index or length don't fit `n`.
    function verify(bytes32 root, uint256 n, uint256 index, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (n == 0 || index >= n || proof.length != depth(n)) return false;
        bytes32 node = leaf;
        for (uint256 l = 0; l < proof.length; ++l) {
            node = ((index >> l) & 1) == 1 ? sha256(abi.encodePacked(proof[l], node)) : sha256(abi.encodePacked(node, proof[l]));
        }
        return node == root;
    }

    function chunkLeaf(bytes calldata chunk) internal pure returns (bytes32) {
        return sha256(abi.encodePacked("upow.chunk", chunk));
    }

    function stepLeaf(uint64 globalStep, bytes32 stateHash) internal pure returns (bytes32) {
        return sha256(abi.encodePacked("upow.step", globalStep, stateHash));
    }

    function checkpointLeaf(uint64 index, bytes32 stateHash, bytes32 stepRoot) internal pure returns (bytes32) {
        return sha256(abi.encodePacked("upow.ckpt", index, stateHash, stepRoot));
    }

    function batchLeaf(uint64 batchIndex, bytes32 batchHash) internal pure returns (bytes32) {
        return sha256(abi.encodePacked("upow.batch", batchIndex, batchHash));
    }

    function fileHash(uint64 byteLength, bytes32 chunkRoot) internal pure returns (bytes32) {
        return sha256(abi.encodePacked("upow.file", byteLength, chunkRoot));
    }

    /// @notice Number of 32 KiB chunks of a file of `byteLength` bytes.
    function chunkCount(uint256 byteLength) internal pure returns (uint256) {
        return (byteLength + CHUNK_SIZE - 1) / CHUNK_SIZE;
    }
}
