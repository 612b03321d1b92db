// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev Where every burn goes (slashed stake nobody is owed, forfeited bonds' burnt share): an address
/// whose key nobody holds. Paying it to anyone in particular would reward whoever provoked the slash.
address constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

/// @dev Basis points in one whole: every `*Bps` parameter is a fraction of this.
uint256 constant BPS = 10_000;

/// @dev Upper bound of every timeout the protocol derives or governance sets (the JobMarket's derived
/// pinpoint/answer/reveal timeouts, the DisputeManager's reveal, appeal, TTL, extension and draw-wait
/// parameters).
uint256 constant MAX_TIMEOUT = 30 days;
