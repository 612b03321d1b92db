// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Test-only target for the chain-access layer (verifier/chain): emits events on demand and
/// reverts on demand, so sender, journal and event-cursor tests need no protocol contract.
contract ChainTestTarget {
    /// @notice Raised by `poke` while `failing` is set.
    error ChainTestTargetFailing(uint256 value);

    /// @notice Emitted once per poke, `seq` counting all pokes so far.
    event Poked(address indexed sender, uint256 indexed seq, uint256 value);
    /// @notice Emitted when `failing` changes.
    event FailingSet(bool failing);

    uint256 public seq;
    bool public failing;

    /// @notice Emits one `Poked`.
    /// Emits: {Poked}. Requirements: `failing` is false.
    function poke(uint256 value) external {
        if (failing) revert ChainTestTargetFailing(value);
        seq += 1;
        emit Poked(msg.sender, seq, value);
    }

    /// @notice Emits `count` `Poked` events in one transaction (bounded by the caller's gas).
    /// Emits: {Poked} `count` times. Requirements: `failing` is false.
    function pokeMany(uint256 count, uint256 value) external {
        if (failing) revert ChainTestTargetFailing(value);
        for (uint256 i = 0; i < count; ++i) {
            seq += 1;
            emit Poked(msg.sender, seq, value);
        }
    }

    /// @notice Makes `poke` revert (or stop reverting).
    /// Emits: {FailingSet}.
    function setFailing(bool failing_) external {
        failing = failing_;
        emit FailingSet(failing_);
    }

    /// @notice Always reverts with the given string reason (tests decode `Error(string)`).
    function failWithReason(string calldata reason) external pure {
        revert(reason);
    }
}
