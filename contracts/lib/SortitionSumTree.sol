// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title SortitionSumTree
/// @notice K-ary sum tree of weighted addresses: O(log_K N) update and stake-weighted draw
/// (PROTOCOL.md §6). Layout as in Kleros' SortitionSumTreeFactory: node 0 is the root, the
/// children of node `i` are `K*i+1 .. K*i+K`, leaves hold one address each, every inner node holds
/// the sum of its children.
/// @dev A key whose weight is set to zero gives its leaf up; the next new key reuses the vacated
/// leaf before the tree grows. While a key has weight it keeps its leaf (it only moves one level
/// down when its leaf becomes the parent of a freshly appended leaf).
library SortitionSumTree {
    /// @notice Children per inner node.
    uint256 internal constant K = 4;

    struct Tree {
        uint256[] nodes;
        uint256[] vacant;
        mapping(address key => uint256 index) leafOf; // 0 = no leaf (the root is never a leaf)
        mapping(uint256 index => address key) keyOf;
    }

    /// @dev The zero address cannot hold a leaf (it marks an empty leaf).
    error SortitionSumTreeZeroKey();
    /// @dev `value` must be below the total weight `total`.
    error SortitionSumTreeDrawOutOfRange(uint256 value, uint256 total);

    /// @notice Sum of all weights.
    function total(Tree storage tree) internal view returns (uint256) {
        return tree.nodes.length == 0 ? 0 : tree.nodes[0];
    }

    /// @notice Weight of `key` (zero when it has no leaf).
    function weightOf(Tree storage tree, address key) internal view returns (uint256) {
        uint256 index = tree.leafOf[key];
        return index == 0 ? 0 : tree.nodes[index];
    }

    /// @notice Sets the weight of `key`; zero removes it and vacates its leaf.
    function set(Tree storage tree, address key, uint256 weight) internal {
        if (key == address(0)) revert SortitionSumTreeZeroKey();
        uint256 index = tree.leafOf[key];
        if (index == 0) {
            if (weight == 0) return;
            index = _newLeaf(tree, key);
        }
        uint256 old = tree.nodes[index];
        if (old == weight) return;
        if (weight == 0) {
            delete tree.leafOf[key];
            delete tree.keyOf[index];
            tree.vacant.push(index);
        }
        tree.nodes[index] = weight;
        _propagate(tree, index, old, weight);
    }

    /// @notice The key whose cumulative weight interval contains `value`.
    /// Requirements: `value < total(tree)`.
    function draw(Tree storage tree, uint256 value) internal view returns (address) {
        uint256 sum = total(tree);
        if (value >= sum) revert SortitionSumTreeDrawOutOfRange(value, sum);
        uint256 index = 0;
        uint256 length = tree.nodes.length;
        // Descend while `index` has children; value < nodes[index] = sum of its existing children,
        // so the scan stops on an existing child.
        while (K * index + 1 < length) {
            uint256 child = K * index + 1;
            uint256 weight = tree.nodes[child];
            while (value >= weight) {
                value -= weight;
                ++child;
                weight = tree.nodes[child];
            }
            index = child;
        }
        return tree.keyOf[index];
    }

    /// @dev Gives `key` a leaf of weight zero: a vacated one, or a new one at the end.
    function _newLeaf(Tree storage tree, address key) private returns (uint256 index) {
        if (tree.nodes.length == 0) tree.nodes.push(0); // the root
        uint256 vacancies = tree.vacant.length;
        if (vacancies != 0) {
            index = tree.vacant[vacancies - 1];
            tree.vacant.pop();
        } else {
            index = tree.nodes.length;
            tree.nodes.push(0);
            // The first child of a leaf turns that leaf into an inner node: its key moves to the
            // second child with the same weight, so no sum changes. No leaf is vacant here, so the
            // parent leaf holds a key.
            if (index != 1 && (index - 1) % K == 0) {
                uint256 parent = index / K;
                address moved = tree.keyOf[parent];
                tree.nodes.push(tree.nodes[parent]);
                delete tree.keyOf[parent];
                tree.keyOf[index + 1] = moved;
                tree.leafOf[moved] = index + 1;
            }
        }
        tree.leafOf[key] = index;
        tree.keyOf[index] = key;
    }

    /// @dev Moves every ancestor of `index` from `old` to `weight`.
    function _propagate(Tree storage tree, uint256 index, uint256 old, uint256 weight) private {
        while (index != 0) {
            index = (index - 1) / K;
            tree.nodes[index] = tree.nodes[index] - old + weight;
        }
    }
}
