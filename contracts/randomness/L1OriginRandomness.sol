// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomness} from "../interfaces/IRandomness.sol";
import {IL1BlockOracle} from "../interfaces/IL1BlockOracle.sol";
import {BlockHeader} from "./BlockHeader.sol";

/// @title L1OriginRandomness
/// @notice L2 randomness (PROTOCOL-v3 V3.5): the value of target T, an **L1** block number, is the
/// L1 RANDAO (`prevrandao`, header field mixHash) of L1 block T, as on L1 (see
/// {PrevrandaoRandomness}), proven through the OP Stack L1-block oracle.
///
/// While L1 block T is the L2 chain's L1 origin, anyone records the oracle's (T → hash) with
/// {checkpoint}; afterwards anyone proves the header of T against that hash with {reveal}, and the
/// header's mixHash becomes the value, once and for ever. Targets count L1 blocks: consumers take
/// `T = currentBlock() + delay` with `delay ≥ MIN_DELAY` L1 blocks.
///
/// Residual risk: T expires when no checkpoint lands while T is the origin (~12 s, several L2
/// blocks). A sequencer that censors {checkpoint} during that time makes the consumer re-target,
/// i.e. re-roll. Deploy with a keeper that sends a checkpoint for every L1 origin (and have
/// daemons checkpoint their own targets); where that risk is not acceptable, use
/// {VrfRandomness} instead.
contract L1OriginRandomness is IRandomness {
    /// @notice The least delay, in L1 blocks, between a consumer's commitment and its target.
    uint256 public constant MIN_DELAY = 64;

    /// @notice The L1-block oracle (the `L1Block` predeploy on OP Stack chains).
    IL1BlockOracle public immutable oracle;

    mapping(uint256 l1Number => bytes32) private _hashes;
    mapping(uint256 l1Number => bytes32) private _values;

    /// @notice The hash `hash` of L1 block `l1Number` was recorded from the oracle.
    event L1BlockCheckpointed(uint256 indexed l1Number, bytes32 hash);
    /// @notice The value of L1 block `l1Number` was recorded: its mixHash `value`.
    event RandomnessRevealed(uint256 indexed l1Number, bytes32 value, address indexed revealer);

    /// @dev The hash of L1 block `l1Number` is recorded already.
    /// @dev The header's mixHash is zero: it would read as "not revealed" (no beacon chain makes one;
    /// a local chain's batch-mined blocks do).
    error L1OriginRandomnessZeroValue(uint256 blockNumber);
    error L1OriginRandomnessAlreadyCheckpointed(uint256 l1Number);
    /// @dev No hash of L1 block `l1Number` is recorded (yet, or ever: see {isExpired}).
    error L1OriginRandomnessNotCheckpointed(uint256 l1Number);
    /// @dev The value of L1 block `l1Number` is recorded already.
    error L1OriginRandomnessAlreadyRevealed(uint256 l1Number);
    /// @dev The value of L1 block `l1Number` is not recorded.
    error L1OriginRandomnessNotRevealed(uint256 l1Number);
    /// @dev The header given for `l1Number` is the header of block `headerNumber`.
    error L1OriginRandomnessWrongBlock(uint256 l1Number, uint256 headerNumber);
    /// @dev The header hashes to `headerHash`, not to the recorded hash `blockHash` of `l1Number`.
    error L1OriginRandomnessHeaderMismatch(uint256 l1Number, bytes32 blockHash, bytes32 headerHash);

    /// @param oracle_ The L1-block oracle (0x4200000000000000000000000000000000000015 on OP Stack).
    constructor(IL1BlockOracle oracle_) {
        oracle = oracle_;
    }

    /// @inheritdoc IRandomness
    /// @dev The current L1 origin number.
    function currentBlock() external view returns (uint256) {
        return oracle.number();
    }

    /// @notice The hash of L1 block `l1Number` recorded by {checkpoint}, or zero.
    function checkpointed(uint256 l1Number) external view returns (bytes32) {
        return _hashes[l1Number];
    }

    /// @notice Records the number and hash of the current L1 origin. Anyone may call it.
    /// @dev Emits {L1BlockCheckpointed}.
    ///
    /// Requirements: the current L1 origin is not recorded yet (keepers simulate first).
    function checkpoint() external {
        uint256 l1Number = oracle.number();
        if (_hashes[l1Number] != bytes32(0)) revert L1OriginRandomnessAlreadyCheckpointed(l1Number);
        bytes32 hash = oracle.hash();
        _hashes[l1Number] = hash;
        emit L1BlockCheckpointed(l1Number, hash);
    }

    /// @notice Records the value of L1 block `l1Number` from its RLP-encoded header.
    /// @dev Anyone may call it. Emits {RandomnessRevealed}.
    ///
    /// Requirements:
    /// - the value of `l1Number` is not recorded yet;
    /// - `headerRlp` decodes (see {BlockHeader}) and is the header of block `l1Number`;
    /// - the hash of `l1Number` is recorded ({checkpoint}) and `keccak256(headerRlp)` is that hash.
    function reveal(uint256 l1Number, bytes calldata headerRlp) external {
        if (_values[l1Number] != bytes32(0)) revert L1OriginRandomnessAlreadyRevealed(l1Number);
        (uint256 headerNumber, bytes32 mixHash) = BlockHeader.decode(headerRlp);
        if (headerNumber != l1Number) revert L1OriginRandomnessWrongBlock(l1Number, headerNumber);
        bytes32 blockHash = _hashes[l1Number];
        if (blockHash == bytes32(0)) revert L1OriginRandomnessNotCheckpointed(l1Number);
        bytes32 headerHash = keccak256(headerRlp);
        if (headerHash != blockHash) revert L1OriginRandomnessHeaderMismatch(l1Number, blockHash, headerHash);
        if (mixHash == bytes32(0)) revert L1OriginRandomnessZeroValue(l1Number);
        _values[l1Number] = mixHash;
        emit RandomnessRevealed(l1Number, mixHash, msg.sender);
    }

    /// @inheritdoc IRandomness
    function isAvailable(uint256 l1Number) external view returns (bool) {
        return _values[l1Number] != bytes32(0);
    }

    /// @inheritdoc IRandomness
    /// @dev The oracle is past `l1Number` and no hash was recorded for it: it can never be proven.
    function isExpired(uint256 l1Number) external view returns (bool) {
        return _hashes[l1Number] == bytes32(0) && oracle.number() > l1Number;
    }

    /// @inheritdoc IRandomness
    /// @dev Requirements: the value of `l1Number` is recorded ({reveal}).
    function valueAt(uint256 l1Number) external view returns (bytes32) {
        bytes32 value = _values[l1Number];
        if (value == bytes32(0)) revert L1OriginRandomnessNotRevealed(l1Number);
        return value;
    }
}
