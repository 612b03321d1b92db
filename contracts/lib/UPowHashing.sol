// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title UPowHashing
/// @notice Positional sha256 Merkle trees and the domain-tagged leaves of docs/encoding.md.
/// @dev OpenZeppelin's MerkleProof sorts pairs and binds no position; these trees bind the index.
library UPowHashing {
    /// @notice Bytes per chunk of a file. 8 KiB keeps one chunk answer under 400k gas: its
    /// calldata pays the EIP-7623 floor of 40 gas per non-zero byte (32 KiB cost 1.34M).
    uint256 internal constant CHUNK_SIZE = 8192;

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

    /// @notice Root of a tree of `n` leaves rebuilt from the contiguous leaves `first ..
    /// first+leaves.length-1` and the siblings they lack, level by level from the leaves up: at each
    /// level the left sibling of the lowest node (when it is a right child) comes first, then the right
    /// sibling of the highest node (when it is a left child). One leaf is an ordinary proof.
    /// The caller keeps `0 < leaves.length` and `first + leaves.length ≤ n`.
    /// @return root zero when the proof's length does not fit `n`.
    function rangeRoot(uint256 n, uint256 first, bytes32[] memory leaves, bytes32[] calldata proof)
        internal
        pure
        returns (bytes32 root)
    {
        uint256 lo = first;
        uint256 hi = first + leaves.length - 1;
        uint256 used = 0;
        bytes32[] memory nodes = leaves;
        for (uint256 level = depth(n); level > 0; --level) {
            uint256 pLo = lo >> 1;
            uint256 pHi = hi >> 1;
            bytes32[] memory up = new bytes32[](pHi - pLo + 1);
            for (uint256 x = pLo; x <= pHi; ++x) {
                bytes32 left;
                bytes32 right;
                if (2 * x < lo) {
                    if (used == proof.length) return bytes32(0);
                    left = proof[used++];
                } else {
                    left = nodes[2 * x - lo];
                }
                if (2 * x + 1 > hi) {
                    if (used == proof.length) return bytes32(0);
                    right = proof[used++];
                } else {
                    right = nodes[2 * x + 1 - lo];
                }
                up[x - pLo] = sha256(abi.encodePacked(left, right));
            }
            nodes = up;
            lo = pLo;
            hi = pHi;
        }
        if (used != proof.length) return bytes32(0);
        root = nodes[0];
    }

    /// @notice Whether the contiguous `leaves` from `first` belong to the tree of `n` leaves under `root`.
    function verifyRange(bytes32 root, uint256 n, uint256 first, bytes32[] memory leaves, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        bytes32 rebuilt = rangeRoot(n, first, leaves, proof);
        return rebuilt != bytes32(0) && rebuilt == root;
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

    /// @notice Number of 8 KiB chunks of a file of `byteLength` bytes.
    function chunkCount(uint256 byteLength) internal pure returns (uint256) {
        return (byteLength + CHUNK_SIZE - 1) / CHUNK_SIZE;
    }
}
