// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDisputeManager} from "../interfaces/IDisputeManager.sol";
import {IDataAvailability} from "../interfaces/IDataAvailability.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {DisputeLogic} from "./DisputeLogic.sol";

/// @title DisputeEvidence
/// @notice What a dispute may rely on: challenge commitments (v3 V2.1) and the step and checkpoint
/// leaves of its interval, proven in the call or stored in the DataAvailability (v3 V1).
/// @dev External functions, run by DELEGATECALL in the DisputeManager's context.
library DisputeEvidence {
    /// @dev The manager's commitment counters in one slot (issue 17): the global order of the last
    /// commitment and the bonds of commitments neither used nor expired (each below 2^96).
    struct Ledger {
        uint64 count;
        uint192 bondsHeld;
    }

    /// @notice Records a new commitment with its bond and the next global order.
    function commit(
        mapping(bytes32 => IDisputeManager.ChallengeCommitment) storage commitments,
        Ledger storage ledger,
        bytes32 commitment,
        uint256 bond
    ) external {
        if (commitment == bytes32(0)) revert IDisputeManager.DisputeManagerZeroCommitment(0);
        if (commitments[commitment].challenger != address(0)) {
            revert IDisputeManager.DisputeManagerCommitmentExists(commitment);
        }
        uint64 order = ++ledger.count;
        // bond ≤ Params.commitBond < 2^96 (DisputeLogic.invalidParam)
        ledger.bondsHeld += uint192(bond);
        commitments[commitment] = IDisputeManager.ChallengeCommitment(
            msg.sender, uint96(bond), order, uint64(block.timestamp), uint64(block.number)
        );
        emit IDisputeManager.ChallengeCommitted(commitment, msg.sender, order, bond);
    }

    /// @notice Marks an unused commitment older than `ttl` expired; returns its bond (to burn).
    function expire(
        mapping(bytes32 => IDisputeManager.ChallengeCommitment) storage commitments,
        Ledger storage ledger,
        bytes32 commitment,
        uint256 ttl
    ) external returns (uint256 bond) {
        IDisputeManager.ChallengeCommitment storage c = commitments[commitment];
        if (c.challenger == address(0) || c.bond == 0) revert IDisputeManager.DisputeManagerCommitmentNotFound(commitment);
        uint256 expiresAt = uint256(c.committedAt) + ttl;
        if (block.timestamp <= expiresAt) revert IDisputeManager.DisputeManagerCommitmentNotExpired(commitment, expiresAt);
        bond = c.bond;
        c.bond = 0;
        ledger.bondsHeld -= uint192(bond);
        emit IDisputeManager.CommitmentExpired(commitment, bond);
    }

    /// @notice Consumes a commitment for a dispute: at least one block old, mined after the job's
    /// submission block, not expired (v3 V2.1; `openDispute` itself runs by the window end).
    function consume(
        mapping(bytes32 => IDisputeManager.ChallengeCommitment) storage commitments,
        Ledger storage ledger,
        bytes32 commitment,
        uint64 submittedBlock,
        uint256 ttl
    ) external returns (IDisputeManager.ChallengeCommitment memory c) {
        c = commitments[commitment];
        if (c.challenger == address(0)) revert IDisputeManager.DisputeManagerCommitmentNotFound(commitment);
        if (c.committedBlock >= block.number) {
            revert IDisputeManager.DisputeManagerCommitmentTooRecent(commitment, c.committedBlock);
        }
        // A commitment mined by windowEnd: openDispute itself runs by windowEnd.
        if (c.committedBlock <= submittedBlock) {
            revert IDisputeManager.DisputeManagerCommitmentBeforeSubmission(commitment, c.committedBlock, submittedBlock);
        }
        uint256 expiresAt = uint256(c.committedAt) + ttl;
        // Past its TTL a commitment no longer counts (its bond is burnable, or already burned).
        if (block.timestamp > expiresAt) revert IDisputeManager.DisputeManagerCommitmentExpired(commitment, expiresAt);
        ledger.bondsHeld -= c.bond;
        delete commitments[commitment];
    }

    /// @notice Stores the checkpoint leaves a challenger gave when opening a dispute, or, when it
    /// gave none and they are not stored yet, has the worker post them (v3 V1.1). Returns the demand's
    /// challenge id (0: none needed).
    function openEvidence(
        IDataAvailability da,
        uint256 jobId,
        uint256 disputeId,
        uint64 interval,
        IDisputeManager.CheckpointProof calldata checkpoint,
        IDisputeManager.CheckpointProof calldata checkpointNext
    ) external returns (uint256 demand) {
        if (checkpoint.proof.length != 0) {
            // Trusted DataAvailability: verifies and stores the leaves (reverts on a bad proof).
            da.proveCheckpoint(jobId, interval, checkpoint.stateHash, checkpoint.stepRoot, checkpoint.proof);
            da.proveCheckpoint(jobId, interval + 1, checkpointNext.stateHash, checkpointNext.stepRoot, checkpointNext.proof);
        } else if (!da.checkpointLeaf(jobId, interval).known || !da.checkpointLeaf(jobId, interval + 1).known) {
            demand = da.openCheckpointDemand(jobId, disputeId, interval, msg.sender);
        }
    }

    /// @notice What a forfeited bond owes the worker for posting a dispute's checkpoint leaves
    /// (v3 V2.5): `answerFee` when the demand was answered, else nothing; at most `bond`.
    /// @dev `da` is an address, not IDataAvailability, so the library's ABI stays plain for clients.
    function checkpointAnswerFee(address da, uint256 challengeId, uint256 bond) external view returns (uint256 fee) {
        // A live dispute with no open challenge had its demand answered (an unanswered one convicts).
        if (challengeId == 0) return 0;
        fee = IDataAvailability(da).params().answerFee;
        if (fee > bond) fee = bond;
    }

    /// @notice The fee an unanswered challenge's opener takes from the bounty (v3 V4.1), at most `bounty`.
    function openerFee(address da, uint256 bounty) external view returns (uint256 fee) {
        fee = IDataAvailability(da).params().openerFee;
        if (fee > bounty) fee = bounty;
    }

    /// @dev Where a step leaf is looked up: the interval's step root and shape.
    struct Interval {
        IDataAvailability da;
        bytes32 root;
        uint256 jobId;
        uint64 k;
        uint64 interval;
    }

    /// @notice Checks a pinpoint of local step `localStep` of the dispute's interval: inside the
    /// interval, not judged before, both step leaves proven; returns the global step.
    function checkPinpoint(
        IDataAvailability da,
        IJobMarket jm,
        IDisputeManager.Dispute storage d,
        mapping(uint64 => bool) storage judged,
        uint256 disputeId,
        uint64 localStep,
        IDisputeManager.StepClaim calldata before,
        IDisputeManager.StepClaim calldata next_
    ) external view returns (uint64 globalStep) {
        Interval memory it = _interval(da, jm, d, disputeId);
        if (localStep >= it.k) revert IDisputeManager.DisputeManagerInvalidStep(disputeId, localStep);
        globalStep = it.interval * it.k + localStep;
        if (judged[globalStep]) revert IDisputeManager.DisputeManagerStepAlreadyJudged(it.jobId, globalStep);
        if (
            !_stepLeafOk(it, localStep, before.stateHash, before.proof)
                || !_stepLeafOk(it, localStep + 1, next_.stateHash, next_.proof)
        ) {
            revert IDisputeManager.DisputeManagerInvalidProof();
        }
    }

    /// @notice Checks a boundary mismatch: `stateHash` is step leaf 0 (or k) of the interval and
    /// differs from checkpoint `interval` (or `interval+1`); returns the checkpoint's state hash.
    function checkBoundary(
        IDataAvailability da,
        IJobMarket jm,
        IDisputeManager.Dispute storage d,
        uint256 disputeId,
        bool atEnd,
        bytes32 stateHash,
        bytes32[] calldata proof
    ) external view returns (bytes32 checkpointStateHash) {
        Interval memory it = _interval(da, jm, d, disputeId);
        if (!_stepLeafOk(it, atEnd ? it.k : 0, stateHash, proof)) revert IDisputeManager.DisputeManagerInvalidProof();
        IDataAvailability.CheckpointLeaf memory cp = da.checkpointLeaf(it.jobId, atEnd ? it.interval + 1 : it.interval);
        if (!cp.known) revert IDisputeManager.DisputeManagerCheckpointsUnknown(disputeId);
        if (stateHash == cp.stateHash) revert IDisputeManager.DisputeManagerBoundaryConsistent(disputeId, atEnd);
        return cp.stateHash;
    }

    function _interval(IDataAvailability da, IJobMarket jm, IDisputeManager.Dispute storage d, uint256 disputeId)
        private
        view
        returns (Interval memory it)
    {
        it.da = da;
        it.jobId = d.jobId;
        it.interval = d.interval;
        (, it.k) = jm.jobSteps(it.jobId);
        IDataAvailability.CheckpointLeaf memory cp = da.checkpointLeaf(it.jobId, it.interval);
        if (!cp.known) revert IDisputeManager.DisputeManagerCheckpointsUnknown(disputeId);
        it.root = cp.stepRoot;
    }

    /// @dev Step leaf `leafIndex` of the interval: proven by `proof`, or (empty proof) stored.
    function _stepLeafOk(Interval memory it, uint64 leafIndex, bytes32 stateHash, bytes32[] calldata proof)
        private
        view
        returns (bool)
    {
        if (proof.length != 0) return DisputeLogic.verifyStep(it.root, it.k, it.interval, leafIndex, stateHash, proof);
        IDataAvailability.StepLeaf memory leaf = it.da.stepLeaf(it.jobId, it.interval * it.k + leafIndex);
        return leaf.known && leaf.stateHash == stateHash;
    }
}
