// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRandomness} from "../interfaces/IRandomness.sol";
import {IVrfCoordinator} from "../interfaces/IVrfCoordinator.sol";

/// @title VrfRandomness
/// @notice L2 randomness from a VRF (PROTOCOL-v3 V3.5), the alternative to {L1OriginRandomness}
/// where sequencer censorship of checkpoints is not acceptable. The value of target block T is the
/// random word of the one VRF request made for T.
///
/// Anyone calls {request}(T) once block T is reached (`T ≤ block.number`), never before: a
/// consumer commits in a block C < T, so the word is requested, let alone known, only after the
/// commitment. (A request allowed before T could be fulfilled before a consumer commits to T, and
/// a committer could then pick its target knowing the value.) Each T gets one request and one
/// word, recorded once. Requests never expire here ({isExpired} is always false): nobody can
/// re-roll T by asking again, at the price that a coordinator that never fulfils stalls T's
/// consumers; deploy with a coordinator and subscription whose requests do not time out.
contract VrfRandomness is IRandomness {
    /// @notice The VRF coordinator that fulfils this contract's requests.
    IVrfCoordinator public immutable coordinator;

    /// @dev The request made for a target block.
    struct Request {
        bool made;
        uint256 id;
    }

    mapping(uint256 blockNumber => Request) private _requests;
    mapping(uint256 requestId => uint256) private _targetPlusOne; // zero: not a request of ours
    mapping(uint256 blockNumber => bytes32) private _values;

    /// @notice The word for `blockNumber` was requested from the coordinator as `requestId`.
    event RandomnessRequested(uint256 indexed blockNumber, uint256 indexed requestId, address indexed requester);
    /// @notice Request `requestId` was fulfilled: `value` is the value of `blockNumber`.
    event RandomnessFulfilled(uint256 indexed blockNumber, uint256 indexed requestId, bytes32 value);

    /// @dev `blockNumber` is after the current block `current`: too early to request it.
    error VrfRandomnessTooEarly(uint256 blockNumber, uint256 current);
    /// @dev `blockNumber` was requested already.
    error VrfRandomnessAlreadyRequested(uint256 blockNumber);
    /// @dev Only the coordinator fulfils; `caller` is not it.
    error VrfRandomnessNotCoordinator(address caller);
    /// @dev `requestId` is not a request of this contract.
    error VrfRandomnessUnknownRequest(uint256 requestId);
    /// @dev The request for `blockNumber` is fulfilled already.
    error VrfRandomnessAlreadyFulfilled(uint256 blockNumber);
    /// @dev The value of `blockNumber` is not recorded (not requested or not fulfilled yet).
    error VrfRandomnessNotFulfilled(uint256 blockNumber);

    /// @param coordinator_ The VRF coordinator.
    constructor(IVrfCoordinator coordinator_) {
        coordinator = coordinator_;
    }

    /// @inheritdoc IRandomness
    function currentBlock() external view returns (uint256) {
        return block.number;
    }

    /// @notice Whether `blockNumber` was requested, and the coordinator's id for the request.
    function requestOf(uint256 blockNumber) external view returns (bool made, uint256 requestId) {
        Request storage r = _requests[blockNumber];
        return (r.made, r.id);
    }

    /// @notice Requests the random word of `blockNumber`. Anyone may call it, once per block.
    /// @dev Emits {RandomnessRequested}. The block is marked requested before the call to the
    /// coordinator (trusted, set at construction), so a re-entrant request for it fails. The
    /// coordinator must return a fresh id per request.
    ///
    /// Requirements: `blockNumber ≤ block.number`; `blockNumber` was not requested before.
    function request(uint256 blockNumber) external returns (uint256 requestId) {
        if (blockNumber > block.number) revert VrfRandomnessTooEarly(blockNumber, block.number);
        Request storage r = _requests[blockNumber];
        if (r.made) revert VrfRandomnessAlreadyRequested(blockNumber);
        r.made = true;
        requestId = coordinator.requestRandomWord();
        r.id = requestId;
        _targetPlusOne[requestId] = blockNumber + 1;
        emit RandomnessRequested(blockNumber, requestId, msg.sender);
    }

    /// @notice Delivers the random word of request `requestId`.
    /// @dev Emits {RandomnessFulfilled}. The value is `keccak256(abi.encode(randomWord,
    /// blockNumber))`: never zero (zero reads as "not fulfilled"), and distinct per block even if a
    /// coordinator repeated a word.
    ///
    /// Requirements: the caller is the coordinator; `requestId` is a request of this contract, not
    /// fulfilled yet.
    function fulfill(uint256 requestId, uint256 randomWord) external {
        if (msg.sender != address(coordinator)) revert VrfRandomnessNotCoordinator(msg.sender);
        uint256 targetPlusOne = _targetPlusOne[requestId];
        if (targetPlusOne == 0) revert VrfRandomnessUnknownRequest(requestId);
        uint256 blockNumber = targetPlusOne - 1;
        if (_values[blockNumber] != bytes32(0)) revert VrfRandomnessAlreadyFulfilled(blockNumber);
        bytes32 value = keccak256(abi.encode(randomWord, blockNumber));
        _values[blockNumber] = value;
        emit RandomnessFulfilled(blockNumber, requestId, value);
    }

    /// @inheritdoc IRandomness
    function isAvailable(uint256 blockNumber) external view returns (bool) {
        return _values[blockNumber] != bytes32(0);
    }

    /// @inheritdoc IRandomness
    /// @dev Always false: a VRF request never expires and a block is never re-targeted.
    function isExpired(uint256) external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IRandomness
    /// @dev Requirements: the request for `blockNumber` is fulfilled.
    function valueAt(uint256 blockNumber) external view returns (bytes32) {
        bytes32 value = _values[blockNumber];
        if (value == bytes32(0)) revert VrfRandomnessNotFulfilled(blockNumber);
        return value;
    }
}
