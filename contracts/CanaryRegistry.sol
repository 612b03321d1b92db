// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ICanaryRegistry} from "./interfaces/ICanaryRegistry.sol";

/// @title CanaryRegistry
/// @notice Canary commitments, one root per epoch (PROTOCOL.md v3 V11.1). The canary operator
/// (CANARY_ROLE) posts the root of epoch `e` while an earlier epoch runs; every canary job of `e` is
/// created during `e`, so its leaf was committed before the job existed, and nothing on chain marks
/// it before the reveal (`AuditManager.revealCanary`, `DisputeManager.revealCanaryTruth`).
/// @dev Its own clock: genesis = deployment time, epochs of `epochLength` seconds (immutable: a new
/// length would move jobs between epochs). Leaf format: see ICanaryRegistry.
contract CanaryRegistry is ICanaryRegistry, AccessControl {
    bytes32 public constant CANARY_ROLE = keccak256("CANARY_ROLE");
    uint64 public constant MIN_EPOCH_LENGTH = 1 hours;
    uint64 public constant MAX_EPOCH_LENGTH = 30 days;

    uint64 public immutable genesis;
    uint64 public immutable epochLength;

    mapping(uint64 epoch => bytes32) private _roots;

    /// @param admin receives DEFAULT_ADMIN_ROLE and CANARY_ROLE.
    constructor(address admin, uint64 epochLength_) {
        if (admin == address(0)) revert CanaryRegistryZeroAddress();
        if (epochLength_ < MIN_EPOCH_LENGTH || epochLength_ > MAX_EPOCH_LENGTH) {
            revert CanaryRegistryInvalidEpochLength(epochLength_);
        }
        genesis = uint64(block.timestamp);
        epochLength = epochLength_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(CANARY_ROLE, admin);
    }

    /// @inheritdoc ICanaryRegistry
    function epochOf(uint256 timestamp) public view returns (uint64) {
        if (timestamp < genesis) return 0;
        return uint64((timestamp - genesis) / epochLength);
    }

    /// @inheritdoc ICanaryRegistry
    function currentEpoch() public view returns (uint64) {
        return epochOf(block.timestamp);
    }

    /// @inheritdoc ICanaryRegistry
    function rootOf(uint64 epoch) external view returns (bytes32) {
        return _roots[epoch];
    }

    /// @inheritdoc ICanaryRegistry
    function postRoot(uint64 epoch, bytes32 root) external onlyRole(CANARY_ROLE) {
        if (root == bytes32(0)) revert CanaryRegistryZeroRoot();
        uint64 current = currentEpoch();
        if (epoch <= current) revert CanaryRegistryEpochNotFuture(epoch, current);
        if (_roots[epoch] != bytes32(0)) revert CanaryRegistryRootExists(epoch);
        _roots[epoch] = root;
        emit CanaryRootPosted(epoch, root);
    }

    /// @inheritdoc ICanaryRegistry
    function verifyCanary(
        uint64 createdAt,
        bytes32 specHash,
        uint256[] calldata faults,
        bytes32 salt,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _roots[epochOf(createdAt)];
        if (root == bytes32(0)) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(specHash, faults, salt))));
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
