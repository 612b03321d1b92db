// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IDisputeManager} from "../interfaces/IDisputeManager.sol";
import {IDataAvailability} from "../interfaces/IDataAvailability.sol";
import {AuditManager} from "../AuditManager.sol";
import {IAuditManager} from "../interfaces/IAuditManager.sol";
import {JobMarket} from "../JobMarket.sol";
import {DisputeManager} from "../DisputeManager.sol";

/// @title InvariantProbe
/// @notice Test-only: reads the whole system in one `eth_call` and reports, per contract and token,
/// the balance held next to what the contracts' own views say is owed (§8 conservation), every
/// job's status and dispute's phase (terminal states must not move), and the first account whose
/// locked stake differs from the sum of its live locks (collateral, juror and auditor locks).
contract InvariantProbe {
    struct Report {
        uint256 smBalance; // staking token held by the StakeManager
        uint256 smOwed; // sum of free + locked + unbonding over the actors
        uint256 dmBalance; // staking token held by the DisputeManager
        uint256 dmOwed; // live bonds, juror pots, unsettled appeal bonds, held commitment bonds, credits
        uint256 daBalance; // staking token held by the DataAvailability
        uint256 daOwed; // bonds of open and answered (unsettled) challenges, credits
        uint256 jmStakeBalance;
        uint256 jmStakeOwed; // staking-token credits (liveness penalties)
        uint256 jmPayBalance;
        uint256 jmPayOwed; // escrow of Open/Claimed/Submitted jobs + payment-token credits
        uint256 amPayBalance;
        uint256 amPayOwed; // unreleased attester fee shares of paid audits + credits
        uint256 strayBalance; // tokens sitting where none belong (must be 0)
        address lockMismatch; // first actor whose locked stake != its live locks (zero if none)
        uint256 lockedReported;
        uint256 lockedLive;
        uint8[] jobStatus; // index jobId - 1
        uint8[] disputePhase; // index disputeId - 1
    }

    error InvariantProbeUnknownLockHolder(address who);

    IStakeManager public immutable stakeManager;
    JobMarket public immutable jobMarket;
    AuditManager public immutable auditManager;
    DisputeManager public immutable disputeManager;
    IDataAvailability public immutable dataAvailability;
    IERC20 public immutable stakeToken;
    IERC20 public immutable payToken;

    constructor(IStakeManager sm, JobMarket jm, AuditManager am, DisputeManager dm, IERC20 pay) {
        stakeManager = sm;
        jobMarket = jm;
        auditManager = am;
        disputeManager = dm;
        dataAvailability = dm.dataAvailability();
        stakeToken = sm.stakingToken();
        payToken = pay;
    }

    /// @param actors every account that may hold stake, DisputeManager or AuditManager credits.
    /// @param payees the only accounts that may hold JobMarket credits (requester, workers): a credit
    /// anywhere else leaves the balance above the sum and fails the check.
    function report(address[] calldata actors, address[] calldata payees) external view returns (Report memory r) {
        uint256[] memory live = new uint256[](actors.length);
        _jobs(r, actors, live);
        _disputes(r, actors, live);
        address sm = address(stakeManager);
        address dm = address(disputeManager);
        address jm = address(jobMarket);
        address am = address(auditManager);
        r.smBalance = stakeToken.balanceOf(sm);
        r.dmBalance = stakeToken.balanceOf(dm);
        r.daBalance = stakeToken.balanceOf(address(dataAvailability));
        r.jmStakeBalance = stakeToken.balanceOf(jm);
        r.jmPayBalance = payToken.balanceOf(jm);
        r.amPayBalance = payToken.balanceOf(am);
        r.strayBalance = stakeToken.balanceOf(am) + payToken.balanceOf(sm) + payToken.balanceOf(dm)
            + payToken.balanceOf(address(dataAvailability));
        for (uint256 i = 0; i < actors.length; ++i) {
            address a = actors[i];
            IStakeManager.Account memory acc = stakeManager.account(a);
            r.smOwed += acc.free + acc.locked + acc.unbonding + acc.reserve + acc.pendingJoin;
            r.dmOwed += disputeManager.credits(a);
            r.daOwed += dataAvailability.credits(a);
            r.amPayOwed += auditManager.credits(address(payToken), a);
            // Live locks: collateral and attestations (`locked`) plus juror seats (`seatLocked`).
            if (r.lockMismatch == address(0) && acc.locked + acc.seatLocked != live[i]) {
                r.lockMismatch = a;
                r.lockedReported = acc.locked + acc.seatLocked;
                r.lockedLive = live[i];
            }
        }
        for (uint256 i = 0; i < payees.length; ++i) {
            r.jmStakeOwed += jobMarket.credits(address(stakeToken), payees[i]);
            r.jmPayOwed += jobMarket.credits(address(payToken), payees[i]);
        }
    }

    function _jobs(Report memory r, address[] calldata actors, uint256[] memory live) private view {
        uint256 n = jobMarket.nextJobId() - 1;
        r.jobStatus = new uint8[](n);
        for (uint256 id = 1; id <= n; ++id) {
            IJobMarket.Job memory job = jobMarket.getJob(id);
            r.jobStatus[id - 1] = uint8(job.status);
            if (job.status == IJobMarket.JobStatus.Open || job.status == IJobMarket.JobStatus.Claimed
                || job.status == IJobMarket.JobStatus.Submitted) {
                r.jmPayOwed += job.reward + job.verificationFee;
            }
            if (job.status == IJobMarket.JobStatus.Claimed || job.status == IJobMarket.JobStatus.Submitted) {
                _addLock(actors, live, job.worker, jobMarket.collateralLockId(id));
            }
            address[] memory auditors = auditManager.auditorsOf(id);
            if (auditors.length == 0) continue;
            IAuditManager.Audit memory audit = auditManager.getAudit(id);
            for (uint256 i = 0; i < auditors.length; ++i) {
                if (auditManager.auditorState(id, auditors[i]) == IAuditManager.AuditorState.Attested) {
                    // Attested: the lock is live, and a paid audit still owes the fee share.
                    _addLock(actors, live, auditors[i], auditManager.auditorLockId(id, auditors[i]));
                    if (audit.paid) r.amPayOwed += audit.feeShare * auditManager.auditorSeats(id, auditors[i]);
                }
            }
        }
    }

    function _disputes(Report memory r, address[] calldata actors, uint256[] memory live) private view {
        uint256 n = disputeManager.disputeCount();
        r.disputePhase = new uint8[](n);
        for (uint256 id = 1; id <= n; ++id) {
            IDisputeManager.Dispute memory d = disputeManager.getDispute(id);
            r.disputePhase[id - 1] = uint8(d.phase);
            r.dmOwed += d.bond + d.jurorPot;
            for (uint256 a = d.appealsSettled; a < d.appeals; ++a) r.dmOwed += disputeManager.getAppeal(id, a).bond;
            if (d.phase == IDisputeManager.Phase.Voting) {
                address[] memory jurors = disputeManager.getRound(id, d.round).jurors;
                bytes32 lockId = disputeManager.jurorLockId(id, d.round);
                for (uint256 j = 0; j < jurors.length; ++j) _addLock(actors, live, jurors[j], lockId);
            }
        }
        r.dmOwed += disputeManager.commitBondsHeld();
        uint256 challenges = dataAvailability.challengeCount();
        for (uint256 c = 1; c <= challenges; ++c) {
            r.daOwed += dataAvailability.getChallenge(c).bond;
        }
    }

    function _addLock(address[] calldata actors, uint256[] memory live, address who, bytes32 lockId) private view {
        uint256 amount = stakeManager.lockedAmount(who, lockId);
        for (uint256 i = 0; i < actors.length; ++i) {
            if (actors[i] == who) {
                live[i] += amount;
                return;
            }
        }
        revert InvariantProbeUnknownLockHolder(who);
    }
}
