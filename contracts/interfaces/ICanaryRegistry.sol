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
    // ───────────── events and errors (the implementation emits and reverts with these) ─────────────
    event CanaryRootPosted(uint64 indexed epoch, bytes32 root);
    error CanaryRegistryZeroAddress();
    error CanaryRegistryInvalidEpochLength(uint64 epochLength);
    error CanaryRegistryZeroRoot();
    error CanaryRegistryEpochNotFuture(uint64 epoch, uint64 current);
    error CanaryRegistryRootExists(uint64 epoch);

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

    /// @notice The epoch now.
    function currentEpoch() external view returns (uint64);
    /// @notice Commits the canaries of a future epoch.
    /// @dev Emits {CanaryRootPosted}. Requirements: CANARY_ROLE; `epoch` after the current one;
    /// no root posted for it yet; `root` non-zero.
    function postRoot(uint64 epoch, bytes32 root) external;
}
