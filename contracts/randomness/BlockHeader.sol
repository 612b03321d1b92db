// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title BlockHeader
/// @notice Reads the block number (field 8) and the mixHash (field 13; `prevrandao` since the
/// merge) from an RLP-encoded Ethereum block header.
/// @dev The caller proves the header by comparing `keccak256(header)` with a trusted block hash, so
/// the bytes are the chain's own canonical encoding; this decoder therefore only has to read a
/// well-formed header correctly and to reject malformed input with a named error. It does not
/// insist on canonical RLP (a non-canonical encoding cannot hash to a real block hash). It reads
/// the first 14 fields only: a bounded loop whatever the hardfork appends to the header.
library BlockHeader {
    /// @dev Index of the block number in the header list.
    uint256 internal constant NUMBER_FIELD = 8;
    /// @dev Index of the mixHash (prevrandao) in the header list.
    uint256 internal constant MIX_HASH_FIELD = 13;

    /// @dev The input is empty or does not start with an RLP list prefix.
    error BlockHeaderNotAList();
    /// @dev The list prefix declares `declared` bytes (prefix included) but the input has `actual`.
    error BlockHeaderLengthMismatch(uint256 declared, uint256 actual);
    /// @dev Field `field` (its prefix or its content) runs past the end of the list, or is missing.
    error BlockHeaderFieldOutOfBounds(uint256 field);
    /// @dev Field `field` is not what a header holds there (a list, a number over 32 bytes, or a
    /// mixHash that is not 32 bytes).
    error BlockHeaderInvalidField(uint256 field);

    /// @notice The block number and the mixHash of the RLP-encoded header `header`.
    /// @dev Requirements: `header` is exactly one RLP list whose fields 0..13 are byte strings,
    /// field 8 at most 32 bytes long and field 13 exactly 32 bytes long.
    function decode(bytes calldata header) internal pure returns (uint256 number, bytes32 mixHash) {
        uint256 end = header.length;
        if (end == 0 || uint8(header[0]) < 0xc0) revert BlockHeaderNotAList();
        uint256 offset;
        uint256 payload;
        (offset, payload) = _listPrefix(header);
        if (offset + payload != end) revert BlockHeaderLengthMismatch(offset + payload, end);

        for (uint256 field = 0; field <= MIX_HASH_FIELD; ++field) {
            (uint256 start, uint256 length) = _stringItem(header, offset, end, field);
            if (field == NUMBER_FIELD) {
                if (length > 32) revert BlockHeaderInvalidField(field);
                // A big-endian integer of `length` bytes: left-align it in a word, shift it down.
                // Solidity saturates shifts, so an empty string (length 0) reads as zero.
                number = uint256(bytes32(header[start:start + length])) >> (8 * (32 - length));
            } else if (field == MIX_HASH_FIELD) {
                if (length != 32) revert BlockHeaderInvalidField(field);
                mixHash = bytes32(header[start:start + 32]);
            }
            offset = start + length;
        }
    }

    /// @dev The offset of the list payload and its length. The first byte is ≥ 0xc0.
    function _listPrefix(bytes calldata header) private pure returns (uint256 offset, uint256 payload) {
        uint8 prefix = uint8(header[0]);
        if (prefix <= 0xf7) return (1, prefix - 0xc0);
        uint256 lengthOfLength = prefix - 0xf7; // 1..8 bytes: no overflow below
        if (1 + lengthOfLength > header.length) revert BlockHeaderLengthMismatch(1 + lengthOfLength, header.length);
        return (1 + lengthOfLength, _bigEndian(header[1:1 + lengthOfLength]));
    }

    /// @dev The content (start, length) of the byte string at `offset`, which must end by `end`.
    function _stringItem(bytes calldata header, uint256 offset, uint256 end, uint256 field) private pure returns (uint256 start, uint256 length) {
        if (offset >= end) revert BlockHeaderFieldOutOfBounds(field);
        uint8 prefix = uint8(header[offset]);
        if (prefix < 0x80) {
            (start, length) = (offset, 1);
        } else if (prefix <= 0xb7) {
            (start, length) = (offset + 1, prefix - 0x80);
        } else if (prefix <= 0xbf) {
            uint256 lengthOfLength = prefix - 0xb7; // 1..8 bytes: no overflow below
            if (offset + 1 + lengthOfLength > end) revert BlockHeaderFieldOutOfBounds(field);
            (start, length) = (offset + 1 + lengthOfLength, _bigEndian(header[offset + 1:offset + 1 + lengthOfLength]));
        } else {
            revert BlockHeaderInvalidField(field);
        }
        if (start + length > end) revert BlockHeaderFieldOutOfBounds(field);
    }

    /// @dev A big-endian integer of at most 8 bytes.
    function _bigEndian(bytes calldata b) private pure returns (uint256 value) {
        return uint256(bytes32(b)) >> (8 * (32 - b.length));
    }
}
