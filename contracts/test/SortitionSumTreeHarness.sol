// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SortitionSumTree} from "../lib/SortitionSumTree.sol";

/// @notice Exposes SortitionSumTree for tests.
contract SortitionSumTreeHarness {
    using SortitionSumTree for SortitionSumTree.Tree;

    SortitionSumTree.Tree private _tree;

    function set(address key, uint256 weight) external {
        _tree.set(key, weight);
    }

    function setMany(address[] calldata keys, uint256[] calldata weights) external {
        for (uint256 i = 0; i < keys.length; ++i) {
            _tree.set(keys[i], weights[i]);
        }
    }

    function total() external view returns (uint256) {
        return _tree.total();
    }

    function weightOf(address key) external view returns (uint256) {
        return _tree.weightOf(key);
    }

    function draw(uint256 value) external view returns (address) {
        return _tree.draw(value);
    }

    /// @notice Non-view draw so tests can measure its gas from a receipt.
    function drawTx(uint256 value) external returns (address drawn) {
        drawn = _tree.draw(value);
        emit Drawn(drawn);
    }

    event Drawn(address key);

    function leafOf(address key) external view returns (uint256) {
        return _tree.leafOf[key];
    }

    function nodeCount() external view returns (uint256) {
        return _tree.nodes.length;
    }

    function node(uint256 index) external view returns (uint256) {
        return _tree.nodes[index];
    }

    function vacantCount() external view returns (uint256) {
        return _tree.vacant.length;
    }
}
