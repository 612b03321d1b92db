// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {UPowHashing} from "./UPowHashing.sol";
import {IDisputeManager} from "../interfaces/IDisputeManager.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {BPS} from "./UPowConstants.sol";

/// @title DisputeLogic
/// @notice Rules of the DisputeManager: parameter and job-term checks, tally, committee growth,
/// money splits, step-leaf proofs.
/// @dev Kept apart so the rules are readable on their own and the manager stays under 24 KiB;
/// `storeParams` and `checkJobTerms` run by DELEGATECALL on the manager's storage.
library DisputeLogic {
    /// @dev Cap on a round's committee: the StakeManager's MAX_DRAW, one shared cap (v3 V5.1).
    uint256 internal constant MAX_COMMITTEE = 64;

    /// @notice Validates and stores the manager's parameters (in its context).
    /// Emits {IDisputeManager.ParamsUpdated}; reverts {DisputeManagerInvalidParam} naming the field.
    function storeParams(IDisputeManager.Params storage target, IDisputeManager.Params memory p, uint256 maxTimeout)
        external
    {
        string memory bad = invalidParam(p, maxTimeout);
        if (bytes(bad).length != 0) revert IDisputeManager.DisputeManagerInvalidParam(bad);
        target.disputeBond = p.disputeBond;
        target.commitBond = p.commitBond;
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
        target.commitTTL = p.commitTTL;
        target.maxExtension = p.maxExtension;
        target.maxDrawWait = p.maxDrawWait;
        emit IDisputeManager.ParamsUpdated(p);
    }

    /// @notice Name of the first invalid field, or "" when all are valid. Every committee a
    /// dispute can reach (maxRounds − 1 escalations plus maxAppeals appeals) must be drawable (V5.1).
    function invalidParam(IDisputeManager.Params memory p, uint256 maxTimeout) public pure returns (string memory) {
        if (p.disputeBond == 0) return "disputeBond";
        // Commitments store their bond in 96 bits beside the challenger (issue 17).
        if (p.commitBond == 0 || p.commitBond > type(uint96).max) return "commitBond";
        if (p.appealBond == 0) return "appealBond";
        if (p.jurorLock == 0) return "jurorLock";
        if (p.incoherencePenalty > p.jurorLock) return "incoherencePenalty";
        if (p.replayCost >= p.disputeBond) return "replayCost";
        // The worker's own second account may take the challenger's share: some penalty must remain (V4.3).
        if (p.challengerBps >= BPS) return "challengerBps";
        if (uint256(p.challengerBps) + p.jurorBps + p.requesterBps > BPS) return "slashBps";
        if (p.bondJurorBps > BPS) return "bondJurorBps";
        if (p.quorum == 0 || p.quorum > p.committeeSize) return "quorum";
        if (p.maxRounds == 0 || p.maxRounds > 4) return "maxRounds";
        if (p.maxAppeals > 3) return "maxAppeals";
        if (committeeSize(p.committeeSize, uint256(p.maxRounds) - 1 + p.maxAppeals) > MAX_COMMITTEE) return "committeeSize";
        if (p.randomnessDelay == 0 || p.randomnessDelay > 256) return "randomnessDelay";
        if (p.revealWindow < 60 || p.revealWindow > maxTimeout) return "revealWindow";
        if (p.appealWindow < 60 || p.appealWindow > maxTimeout) return "appealWindow";
        if (p.commitTTL < 60 || p.commitTTL > maxTimeout) return "commitTTL";
        if (p.maxExtension > maxTimeout) return "maxExtension";
        if (p.maxDrawWait < 60 || p.maxDrawWait > maxTimeout) return "maxDrawWait";
        return "";
    }

    /// @notice Reverts unless a job's terms keep disputes sound: the juror lock covers the collateral
    /// a committee decides on (V6.2, `jurorLock ≥ collateral / (M − quorum + 1)`), and squatting an
    /// interval for the whole window costs more than the bounty it could divert (V2.4):
    /// `min(commitBond·window/commitTTL, (bond − replayCost)·window/pinpointDeadline) ≥ challengerBps·collateral`,
    /// where `pinpointDeadline = 2·answerTimeout + pinpointTimeout`.
    function checkJobTerms(
        IDisputeManager.Params storage p,
        uint256 collateral,
        uint256 window,
        uint256 answerTimeout,
        uint256 pinpointTimeout
    ) external view {
        uint256 seats = uint256(p.committeeSize) - p.quorum + 1;
        uint256 lockNeeded = (collateral + seats - 1) / seats;
        if (p.jurorLock < lockNeeded) revert IDisputeManager.DisputeManagerJurorLockTooLow(p.jurorLock, lockNeeded);
        uint256 bounty = (collateral * p.challengerBps) / BPS;
        uint256 byCommitments = (p.commitBond * window) / p.commitTTL;
        uint256 byDisputes = ((p.disputeBond - p.replayCost) * window) / (2 * answerTimeout + pinpointTimeout);
        uint256 cost = byCommitments < byDisputes ? byCommitments : byDisputes;
        if (cost < bounty) revert IDisputeManager.DisputeManagerSquattingTooCheap(cost, bounty);
    }

    /// @notice Ruling of a round (V9.2): Indeterminate votes abstain. Indeterminate needs an absolute
    /// majority of the reveals; otherwise WorkerFault iff it has more votes than WorkerHonest.
    function tally(uint32[4] memory counts, uint32 reveals) internal pure returns (IDisputeManager.Ruling) {
        if (2 * uint256(counts[3]) > reveals) return IDisputeManager.Ruling.Indeterminate;
        if (counts[1] > counts[2]) return IDisputeManager.Ruling.WorkerFault;
        return IDisputeManager.Ruling.WorkerHonest;
    }

    /// @notice What a juror of a settled round loses (v3 V10): a non-revealer (`vote` 0) its whole
    /// `jurorLock`; when a juror canary's committed ruling `truth` is known (non-zero), a vote other
    /// than `truth` the whole lock and a vote equal to it nothing, whatever the ruling; otherwise a
    /// vote other than `ruling` (0: no ruling, no coherence) `incoherencePenalty`, or the whole lock in
    /// an appeal round (V10.2).
    function jurorPenalty(
        uint8 vote,
        uint8 ruling,
        uint8 truth,
        bool appealRound,
        uint256 jurorLock,
        uint256 incoherencePenalty
    ) internal pure returns (uint256) {
        if (vote == 0) return jurorLock;
        if (truth != 0) return vote == truth ? 0 : jurorLock;
        if (ruling == 0 || vote == ruling) return 0;
        return appealRound ? jurorLock : incoherencePenalty;
    }

    /// @notice Records a juror canary's committed ruling of dispute `d`'s pinpointed step in its round `r`
    /// (v3 V10.1): `(job.specHash, faultSteps, salt)` must be a leaf of the CanaryRegistry root of
    /// the job's creation epoch; the truth is WorkerFault iff `step` is one of `faultSteps`, else
    /// WorkerHonest. Runs in the manager's context; emits {IDisputeManager.CanaryTruthRevealed}.
    function recordCanaryTruth(
        IDisputeManager.RoundInfo storage r,
        IDisputeManager.Dispute storage d,
        IJobMarket jobMarket,
        uint256 disputeId,
        uint256[] calldata faultSteps,
        bytes32 salt,
        bytes32[] calldata proof
    ) external {
        if (r.truth != IDisputeManager.Ruling.None) revert IDisputeManager.DisputeManagerCanaryTruthKnown(disputeId);
        IJobMarket.Job memory job = jobMarket.getJob(d.jobId);
        if (!jobMarket.auditManager().canaryRegistry().verifyCanary(job.createdAt, job.specHash, faultSteps, salt, proof)) {
            revert IDisputeManager.DisputeManagerNotCanary(disputeId);
        }
        uint64 step = d.step;
        IDisputeManager.Ruling truth = IDisputeManager.Ruling.WorkerHonest;
        for (uint256 i = 0; i < faultSteps.length; ++i) {
            if (faultSteps[i] == step) truth = IDisputeManager.Ruling.WorkerFault;
        }
        r.truth = truth;
        emit IDisputeManager.CanaryTruthRevealed(disputeId, d.round, step, truth);
    }

    /// @notice Committee size of round `round` of a pinpoint: M, then 2M+1 per new round.
    function committeeSize(uint256 m, uint256 round) internal pure returns (uint256 size) {
        size = m;
        for (uint256 r = 0; r < round && size <= MAX_COMMITTEE; ++r) {
            size = 2 * size + 1;
        }
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
        // interval < T/k and leafIndex <= k, so the global step fits the job's uint64 T.
        return UPowHashing.verify(stepRoot, uint256(k) + 1, leafIndex, UPowHashing.stepLeaf(interval * k + leafIndex, stateHash), proof);
    }
}
