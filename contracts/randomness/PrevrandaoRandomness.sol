// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomness} from "../interfaces/IRandomness.sol";
import {BlockHeader} from "./BlockHeader.sol";

/// @title PrevrandaoRandomness
/// @notice L1 randomness (PROTOCOL-v3 V3.5): the value of target block T is the `prevrandao`
/// (header field mixHash) of block T itself, recorded once by anyone with {reveal}.
///
/// Why this design. The value of exactly block T is fixed by the beacon chain; {reveal} proves it
/// from the header of T against the hash of T, which the EVM serves for 256 blocks (`blockhash`)
/// and the EIP-2935 history contract for 8191 blocks (~27 h). Nobody can choose among blocks
/// (only T counts), and a party that dislikes the value cannot dodge it by not reading it: anyone
/// else can record it during those ~27 h. The value is stored once and never changes.
///
/// The consumer's delay is the lookahead: a commitment made in block C must target
/// T ≥ C + MIN_DELAY (64 slots, two epochs), so that the RANDAO mix of T is not yet known, nor
/// predictable from the proposer schedule, when the commitment is made (`randomnessDelay ≥
/// MIN_DELAY` on L1; deploy checks read {MIN_DELAY}). Residual bias: the proposer of the slot
/// before T can withhold its block (losing its reward) and so pick between two values: one bit.
/// Keepers should reveal T once it is final (two epochs after T); a reveal in a block that a
/// reorg drops is dropped with it.
///
/// The value is the mixHash itself (as `block.prevrandao` read in block T), not a hash of it, so
/// anyone can check it against the header; consumers hash it with their own ids.
contract PrevrandaoRandomness is IRandomness {
    /// @notice The least delay, in blocks, between a consumer's commitment and its target on L1.
    uint256 public constant MIN_DELAY = 64;
    /// @notice Blocks back that `blockhash` can see.
    uint256 public constant BLOCKHASH_WINDOW = 256;
    /// @notice The EIP-2935 block-hash history contract (Prague).
    address public constant HISTORY_CONTRACT = 0x0000F90827F1C53a10cb7A02335B175320002935;
    /// @notice Blocks back that the EIP-2935 history contract serves.
    uint256 public constant HISTORY_WINDOW = 8191;

    mapping(uint256 blockNumber => bytes32) private _values;

    /// @notice The value of `blockNumber` was recorded: its mixHash `value`.
    event RandomnessRevealed(uint256 indexed blockNumber, bytes32 value, address indexed revealer);

    /// @dev `blockNumber` is not mined yet (`current` is the block being executed).
    /// @dev The header's mixHash is zero: it would read as "not revealed" (no beacon chain makes one;
    /// a local chain's batch-mined blocks do).
    error PrevrandaoRandomnessZeroValue(uint256 blockNumber);
    error PrevrandaoRandomnessNotMined(uint256 blockNumber, uint256 current);
    /// @dev The value of `blockNumber` is recorded already.
    error PrevrandaoRandomnessAlreadyRevealed(uint256 blockNumber);
    /// @dev The value of `blockNumber` is not recorded (yet, or ever: see {isExpired}).
    error PrevrandaoRandomnessNotRevealed(uint256 blockNumber);
    /// @dev The header given for `blockNumber` is the header of block `headerNumber`.
    error PrevrandaoRandomnessWrongBlock(uint256 blockNumber, uint256 headerNumber);
    /// @dev Neither `blockhash` nor the history contract knows the hash of `blockNumber` any more.
    error PrevrandaoRandomnessHashUnavailable(uint256 blockNumber, uint256 current);
    /// @dev The header hashes to `headerHash`, not to the hash `blockHash` of block `blockNumber`.
    error PrevrandaoRandomnessHeaderMismatch(uint256 blockNumber, bytes32 blockHash, bytes32 headerHash);

    /// @inheritdoc IRandomness
    function currentBlock() external view returns (uint256) {
        return block.number;
    }

    /// @notice Records the value of `blockNumber` from its RLP-encoded header.
    /// @dev Anyone may call it. Emits {RandomnessRevealed}.
    ///
    /// Requirements:
    /// - the value of `blockNumber` is not recorded yet;
    /// - `headerRlp` decodes (see {BlockHeader}) and is the header of block `blockNumber`;
    /// - `blockNumber` is mined and its hash is still served (within BLOCKHASH_WINDOW, or within
    ///   HISTORY_WINDOW when the history contract is deployed);
    /// - `keccak256(headerRlp)` is that hash.
    function reveal(uint256 blockNumber, bytes calldata headerRlp) external {
        if (_values[blockNumber] != bytes32(0)) revert PrevrandaoRandomnessAlreadyRevealed(blockNumber);
        (uint256 headerNumber, bytes32 mixHash) = BlockHeader.decode(headerRlp);
        if (headerNumber != blockNumber) revert PrevrandaoRandomnessWrongBlock(blockNumber, headerNumber);
        if (blockNumber >= block.number) revert PrevrandaoRandomnessNotMined(blockNumber, block.number);
        bytes32 blockHash = _blockHash(blockNumber);
        if (blockHash == bytes32(0)) revert PrevrandaoRandomnessHashUnavailable(blockNumber, block.number);
        bytes32 headerHash = keccak256(headerRlp);
        if (headerHash != blockHash) revert PrevrandaoRandomnessHeaderMismatch(blockNumber, blockHash, headerHash);
        if (mixHash == bytes32(0)) revert PrevrandaoRandomnessZeroValue(blockNumber);
        _values[blockNumber] = mixHash;
        emit RandomnessRevealed(blockNumber, mixHash, msg.sender);
    }

    /// @inheritdoc IRandomness
    function isAvailable(uint256 blockNumber) external view returns (bool) {
        return _values[blockNumber] != bytes32(0);
    }

    /// @inheritdoc IRandomness
    /// @dev Not revealed, mined, and its hash is served by neither `blockhash` nor the history
    /// contract (older than HISTORY_WINDOW blocks, or than BLOCKHASH_WINDOW where the history
    /// contract is missing or fails). Never true again after a reveal.
    function isExpired(uint256 blockNumber) external view returns (bool) {
        return _values[blockNumber] == bytes32(0) && blockNumber < block.number && _blockHash(blockNumber) == bytes32(0);
    }

    /// @inheritdoc IRandomness
    /// @dev Requirements: the value of `blockNumber` is recorded ({reveal}).
    function valueAt(uint256 blockNumber) external view returns (bytes32) {
        bytes32 value = _values[blockNumber];
        if (value == bytes32(0)) revert PrevrandaoRandomnessNotRevealed(blockNumber);
        return value;
    }

    /// @dev The hash of the mined block `blockNumber`, or zero when no source serves it any more.
    function _blockHash(uint256 blockNumber) private view returns (bytes32 hash) {
        hash = blockhash(blockNumber);
        if (hash != bytes32(0)) return hash;
        // The history contract takes the 32-byte number as calldata and returns the 32-byte hash;
        // it reverts outside its window. No code, a failure or a short return means "not served".
        // A static call to a fixed system contract: it cannot re-enter or change state. A caller
        // that starves it of gas to fake an expiry keeps 1/64 of a few thousand gas: too little to
        // act on the answer (a re-target writes storage).
        (bool ok, bytes memory data) = HISTORY_CONTRACT.staticcall(abi.encode(blockNumber));
        if (ok && data.length == 32) hash = abi.decode(data, (bytes32));
    }
}
