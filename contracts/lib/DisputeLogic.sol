// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {UPowHashing} from "./UPowHashing.sol";
import {IDisputeManager} from "../interfaces/IDisputeManager.sol";

/// @title DisputeLogic
/// @notice Pure rules of the DisputeManager: tally, committee growth, money splits, chunk checks.
/// @dev Kept apart so the rules are readable on their own and the manager stays under 24 KiB.
library DisputeLogic {
    uint256 internal constant BPS = 10_000;
    /// @dev Cap on a round's committee: settling a round loops over its jurors.
    uint256 internal constant MAX_COMMITTEE = 127;

    /// @notice Validates and stores the manager's parameters (in its context).
    /// Emits {IDisputeManager.ParamsUpdated}; reverts {DisputeManagerInvalidParam} with the field index.
    function storeParams(IDisputeManager.Params storage target, IDisputeManager.Params memory p, uint256 maxTimeout)
        external
    {
        uint256 bad = firstInvalidParam(p, maxTimeout);
        if (bad != type(uint256).max) revert IDisputeManager.DisputeManagerInvalidParam(bad);
        target.disputeBond = p.disputeBond;
        target.chunkBond = p.chunkBond;
        target.appealBond = p.appealBond;
        target.jurorLock = p.jurorLock;
        target.incoherencePenalty = p.incoherencePenalty;
        target.replayCost = p.replayCost;
        target.challengerBps = p.challengerBps;
        target.jurorBps = p.jurorBps;
        target.requesterBps = p.requesterBps;
        target.bondJurorBps = p.bondJurorBps;
        target.committeeSize = p.committeeSize;
        target.quorum = p.quorum;
        target.maxRounds = p.maxRounds;
        target.maxAppeals = p.maxAppeals;
        target.randomnessDelay = p.randomnessDelay;
        target.revealWindow = p.revealWindow;
        target.appealWindow = p.appealWindow;
        emit IDisputeManager.ParamsUpdated(p);
    }

    /// @notice Number of the first failed check (0 disputeBond, 1 chunkBond, 2 appealBond,
    /// 3 jurorLock, 4 incoherencePenalty, 5 replayCost, 6 slash bps sum, 7 bondJurorBps,
    /// 8 committeeSize, 9 quorum, 10 maxRounds, 11 maxAppeals, 12 randomnessDelay,
    /// 13 revealWindow, 14 appealWindow), or
    /// `type(uint256).max` when all are valid.
    function firstInvalidParam(IDisputeManager.Params memory p, uint256 maxTimeout) public pure returns (uint256) {
        if (p.disputeBond == 0) return 0;
        if (p.chunkBond == 0) return 1;
        if (p.appealBond == 0) return 2;
        if (p.jurorLock == 0) return 3;
        if (p.incoherencePenalty > p.jurorLock) return 4;
        if (p.replayCost > p.disputeBond) return 5;
        if (uint256(p.challengerBps) + p.jurorBps + p.requesterBps > BPS) return 6;
        if (p.bondJurorBps > BPS) return 7;
        if (p.committeeSize == 0 || p.committeeSize > 31) return 8;
        if (p.quorum == 0 || p.quorum > p.committeeSize) return 9;
        if (p.maxRounds == 0 || p.maxRounds > 4) return 10;
        if (p.maxAppeals > 3) return 11;
        if (p.randomnessDelay == 0 || p.randomnessDelay > 256) return 12;
        if (p.revealWindow < 60 || p.revealWindow > maxTimeout) return 13;
        if (p.appealWindow < 60 || p.appealWindow > maxTimeout) return 14;
        return type(uint256).max;
    }

    /// @notice Plurality with ties to the worker (§7.5): WorkerFault must beat each other vote
    /// strictly; Indeterminate must beat WorkerHonest strictly.
    function tally(uint32[4] memory counts) internal pure returns (IDisputeManager.Ruling) {
        uint32 fault = counts[1];
        uint32 honest = counts[2];
        uint32 indeterminate = counts[3];
        if (fault > honest && fault > indeterminate) return IDisputeManager.Ruling.WorkerFault;
        if (indeterminate > honest) return IDisputeManager.Ruling.Indeterminate;
        return IDisputeManager.Ruling.WorkerHonest;
    }

    /// @notice Committee size of round `round`: M, then 2M+1 per new round, capped.
    function committeeSize(uint256 m, uint256 round) internal pure returns (uint256 size) {
        size = m;
        for (uint256 r = 0; r < round && size < MAX_COMMITTEE; ++r) {
            size = 2 * size + 1;
        }
        if (size > MAX_COMMITTEE) size = MAX_COMMITTEE;
    }

    /// @notice Reveals needed from `drawn` jurors: `quorum` of `m`, scaled up (ceil), at least 1.
    function quorumFor(uint256 quorum, uint256 m, uint256 drawn) internal pure returns (uint32) {
        uint256 q = (quorum * drawn + m - 1) / m;
        return uint32(q == 0 ? 1 : q);
    }

    /// @notice Splits a slashed collateral by basis points; the rounding remainder goes to the
    /// challenger, so the four shares always sum to `slashed`.
    function splitSlash(uint256 slashed, uint256 challengerBps, uint256 jurorBps, uint256 requesterBps)
        internal
        pure
        returns (uint256 challenger, uint256 jurors, uint256 requester, uint256 burned)
    {
        jurors = (slashed * jurorBps) / BPS;
        requester = (slashed * requesterBps) / BPS;
        burned = (slashed * (BPS - challengerBps - jurorBps - requesterBps)) / BPS;
        challenger = slashed - jurors - requester - burned;
    }

    /// @notice Checkpoint leaves `interval` and `interval+1` of a tree of `n` leaves under `root`.
    function verifyCheckpoints(
        bytes32 root,
        uint256 n,
        uint64 interval,
        IDisputeManager.CheckpointProof calldata a,
        IDisputeManager.CheckpointProof calldata b
    ) external pure returns (bool) {
        return UPowHashing.verify(root, n, interval, UPowHashing.checkpointLeaf(interval, a.stateHash, a.stepRoot), a.proof)
            && UPowHashing.verify(root, n, interval + 1, UPowHashing.checkpointLeaf(interval + 1, b.stateHash, b.stepRoot), b.proof);
    }

    /// @notice Step leaf `leafIndex` (global step `interval*k + leafIndex`) of an interval's step
    /// tree of `k+1` leaves under `stepRoot`.
    function verifyStep(
        bytes32 stepRoot,
        uint64 k,
        uint64 interval,
        uint64 leafIndex,
        bytes32 stateHash,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        if (leafIndex > k) return false;
        // interval < T/k and leafIndex <= k, so the global step fits the job's uint64 T.
        return UPowHashing.verify(stepRoot, uint256(k) + 1, leafIndex, UPowHashing.stepLeaf(interval * k + leafIndex, stateHash), proof);
    }

    /// @notice Batch leaf `index` of the data tree of `n` leaves under `root`.
    function verifyBatch(bytes32 root, uint64 n, uint64 index, bytes32 batchHash, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return UPowHashing.verify(root, n, index, UPowHashing.batchLeaf(index, batchHash), proof);
    }

    /// @notice Recomputes a positional tree root from a leaf and its proof (docs/encoding.md);
    /// `ok` is false when `index` or the proof length do not fit `n`.
    function rootOf(uint256 n, uint256 index, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool ok, bytes32 node)
    {
        if (index >= n || proof.length != UPowHashing.depth(n)) return (false, bytes32(0));
        node = leaf;
        for (uint256 l = 0; l < proof.length; ++l) {
            node = ((index >> l) & 1) == 1
                ? sha256(abi.encodePacked(proof[l], node))
                : sha256(abi.encodePacked(node, proof[l]));
        }
        ok = true;
    }

    /// @notice True when `chunk` with `proof` is chunk `min(chunkIndex, last)` of the file `fileHash`
    /// of `byteLength` bytes. A challenge naming a chunk past the end is answered with the last
    /// chunk, which proves the file's length.
    function checkChunk(
        bytes32 fileHash,
        uint64 chunkIndex,
        uint64 byteLength,
        bytes calldata chunk,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        if (byteLength == 0) return false;
        uint256 count = UPowHashing.chunkCount(byteLength);
        uint256 index = chunkIndex < count ? chunkIndex : count - 1;
        uint256 expected = index + 1 < count ? UPowHashing.CHUNK_SIZE : byteLength - (count - 1) * UPowHashing.CHUNK_SIZE;
        if (chunk.length != expected) return false;
        (bool ok, bytes32 root) = rootOf(count, index, UPowHashing.chunkLeaf(chunk), proof);
        return ok && UPowHashing.fileHash(byteLength, root) == fileHash;
    }
}
