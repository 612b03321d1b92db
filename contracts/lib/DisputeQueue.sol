// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDisputeManager} from "../interfaces/IDisputeManager.sol";

/// @title DisputeQueue
/// @notice The live disputes of one job as a doubly linked list sorted by commitment order, so that
/// a conviction finds the earliest live dispute (its bounty's beneficiary, v3 V2.4) at the head.
/// @dev Insertion walks forward from a caller's hint (any live dispute of the job ordered before the
/// new one; a wrong or stale hint falls back to the head), so it costs O(1) with a good hint and never
/// reverts; every step of a long walk is a live dispute somebody paid a bond for. Removal is O(1).
library DisputeQueue {
    /// @dev Most disputes a conviction skips (deadline missed) looking for its beneficiary.
    uint256 internal constant MAX_SKIPS = 64;

    /// @dev One slot (issue 17): dispute ids and counts fit 128 bits.
    struct Queue {
        uint128 head;
        uint128 size;
    }

    /// @dev A new dispute's fixed facts.
    struct Opening {
        uint256 jobId;
        uint64 interval;
        uint64 order;
        uint64 committedAt;
        uint64 deadline;
        uint256 bond;
    }

    /// @notice Stores dispute `id` in phase Pinpointing, as the caller's one live dispute on the
    /// interval (v3 V2.2), and links it into the job's queue.
    function open(
        Queue storage q,
        mapping(uint256 => IDisputeManager.Dispute) storage disputes,
        mapping(address => uint256) storage liveOf,
        uint256 id,
        Opening memory o,
        uint256 hint
    ) external {
        uint256 live = liveOf[msg.sender];
        if (live != 0) revert IDisputeManager.DisputeManagerAlreadyDisputing(o.jobId, o.interval, msg.sender, live);
        liveOf[msg.sender] = id;
        IDisputeManager.Dispute storage d = disputes[id];
        d.jobId = o.jobId;
        d.challenger = msg.sender;
        d.interval = o.interval;
        d.order = o.order;
        d.committedAt = o.committedAt;
        d.phase = IDisputeManager.Phase.Pinpointing;
        d.deadline = o.deadline;
        d.bond = o.bond;
        insert(q, disputes, id, hint);
        emit IDisputeManager.DisputeOpened(id, o.jobId, o.interval, msg.sender, o.bond, o.deadline);
    }

    /// @notice Links `id` (already stored, with its `order` and `jobId`) into the job's queue.
    function insert(
        Queue storage q,
        mapping(uint256 => IDisputeManager.Dispute) storage disputes,
        uint256 id,
        uint256 hint
    ) public {
        IDisputeManager.Dispute storage d = disputes[id];
        uint64 order = d.order;
        uint256 prev = 0;
        if (hint != 0 && hint != id) {
            IDisputeManager.Dispute storage h = disputes[hint];
            bool live = h.phase != IDisputeManager.Phase.None && h.phase != IDisputeManager.Phase.Closed;
            if (live && h.jobId == d.jobId && h.order < order) prev = hint;
        }
        uint256 next = prev == 0 ? uint256(q.head) : disputes[prev].next;
        while (next != 0 && disputes[next].order < order) {
            prev = next;
            next = disputes[next].next;
        }
        d.prev = prev;
        d.next = next;
        if (prev == 0) q.head = uint128(id);
        else disputes[prev].next = id;
        if (next != 0) disputes[next].prev = id;
        ++q.size;
    }

    /// @notice Unlinks `id` from its job's queue.
    function remove(Queue storage q, mapping(uint256 => IDisputeManager.Dispute) storage disputes, uint256 id)
        external
    {
        IDisputeManager.Dispute storage d = disputes[id];
        uint256 prev = d.prev;
        uint256 next = d.next;
        if (prev == 0) q.head = uint128(next);
        else disputes[prev].next = next;
        if (next != 0) disputes[next].prev = prev;
        d.prev = 0;
        d.next = 0;
        --q.size;
    }
}
