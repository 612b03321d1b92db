// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICanaryRegistry
/// @notice Epoch roots of canary jobs (PROTOCOL.md v3 V10.1, V11.1): one Merkle root per epoch over
/// leaves `(specHash, faults, salt)`, posted before the epoch starts, so no canary job is marked on
/// chain before its reveal.
/// @dev Leaf: `keccak256(bytes.concat(keccak256(abi.encode(specHash, faults, salt))))` (OpenZeppelin
/// StandardMerkleTree encoding of `(bytes32, uint256[], bytes32)`), sorted-pair hashing.
/// `faults` are the job's faulty *global steps* j (the transition S_j → S_{j+1}), ascending,
/// without repeats; the faulty interval of step j is `j / k` (k the job's checkpoint interval).
/// One format serves auditor canaries (intervals) and juror canaries (steps).
interface ICanaryRegistry {
    /// @notice Epoch of `timestamp`: `(timestamp − genesis) / epochLength`; 0 before genesis.
    /// Epoch 0 never has a root (a root is posted only for a future epoch).
    function epochOf(uint256 timestamp) external view returns (uint64);
    /// @notice The root posted for `epoch` (zero: none).
    function rootOf(uint64 epoch) external view returns (bytes32);
    /// @notice Whether `(specHash, faults, salt)` is a leaf of the root of the epoch that contains
    /// `createdAt` (a job's creation time), proven by `proof`.
    function verifyCanary(
        uint64 createdAt,
        bytes32 specHash,
        uint256[] calldata faults,
        bytes32 salt,
        bytes32[] calldata proof
    ) external view returns (bool);
}
