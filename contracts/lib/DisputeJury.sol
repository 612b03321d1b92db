// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDisputeManager} from "../interfaces/IDisputeManager.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {DisputeLogic} from "./DisputeLogic.sol";

/// @title DisputeJury
/// @notice Juror settlement of the DisputeManager (§7.5, §10.7), run by DELEGATECALL in the
/// manager's context (its storage, its MODULE_ROLE, its events).
/// @dev External functions so the loops live outside the manager's 24 KiB. Every loop is bounded by
/// the committee cap (DisputeLogic.MAX_COMMITTEE).
library DisputeJury {
    /// @notice Draws the committee of the dispute's current round (excluding worker and challenger),
    /// locking `jurorLock` of each, and opens its commit and reveal windows. Returns false, changing
    /// nothing, when nobody could be drawn (the manager retries, v3 V5.2).
    function draw(
        IStakeManager stakeManager,
        IDisputeManager.Dispute storage d,
        IDisputeManager.Params storage p,
        IDisputeManager.RoundInfo storage r,
        mapping(address => IDisputeManager.Vote) storage votes,
        bytes32 seed,
        address worker,
        bytes32 lockId,
        uint256 disputeId,
        uint64 commitWindow
    ) external returns (bool drawn) {
        address[] memory jurors;
        {
            address[] memory exclude = new address[](2);
            exclude[0] = worker;
            exclude[1] = d.challenger;
            uint256 size = DisputeLogic.committeeSize(p.committeeSize, d.round - d.roundBase);
            // Parameters validate every reachable size; this only guards a dispute that escalated
            // under earlier, larger limits (governance may lower them mid-dispute).
            if (size > DisputeLogic.MAX_COMMITTEE) size = DisputeLogic.MAX_COMMITTEE;
            // Trusted StakeManager: locks the jurors' stake under `lockId`.
            jurors = stakeManager.drawJurors(seed, size, p.jurorLock, lockId, exclude);
        }
        if (jurors.length == 0) return false;
        r.jurors = jurors;
        r.quorum = DisputeLogic.quorumFor(p.quorum, p.committeeSize, jurors.length);
        for (uint256 i = 0; i < jurors.length; ++i) {
            votes[jurors[i]].drawn = true;
        }
        d.phase = IDisputeManager.Phase.Voting;
        d.commitEnd = uint64(block.timestamp) + commitWindow;
        d.revealEnd = d.commitEnd + p.revealWindow;
        _emitDrawn(disputeId, d, r);
        return true;
    }

    function _emitDrawn(uint256 disputeId, IDisputeManager.Dispute storage d, IDisputeManager.RoundInfo storage r)
        private
    {
        emit IDisputeManager.CommitteeDrawn(disputeId, d.round, r.jurors, r.quorum, d.commitEnd, d.revealEnd);
    }

    /// @notice Unlocks every juror of a round; non-revealers lose their whole lock, revealers whose
    /// vote differs from `ruling` (0 = no ruling: no coherence) lose `incoherencePenalty`.
    /// Slashed tokens come to the manager; returns their sum.
    function settle(
        IStakeManager stakeManager,
        address[] storage jurors,
        mapping(address => IDisputeManager.Vote) storage votes,
        bytes32 lockId,
        uint256 jurorLock,
        uint256 incoherencePenalty,
        uint256 disputeId,
        uint8 round,
        uint8 ruling
    ) external returns (uint256 pot) {
        for (uint256 i = 0; i < jurors.length; ++i) {
            address juror = jurors[i];
            uint8 vote = votes[juror].vote;
            uint256 penalty;
            if (vote == 0) penalty = jurorLock;
            else if (ruling != 0 && vote != ruling) penalty = incoherencePenalty;
            if (penalty > 0) {
                // Trusted StakeManager: transfers the slashed stake to the manager (this context).
                uint256 taken = stakeManager.slash(juror, lockId, penalty, address(this));
                pot += taken;
                emit IDisputeManager.JurorPenalized(disputeId, round, juror, taken);
            }
            stakeManager.unlock(juror, lockId);
        }
    }

    /// @notice Releases every juror of an interrupted round without penalty.
    function release(IStakeManager stakeManager, address[] storage jurors, bytes32 lockId) external {
        for (uint256 i = 0; i < jurors.length; ++i) {
            stakeManager.unlock(jurors[i], lockId);
        }
    }

    /// @notice Credits `pot` in equal shares to the `coherent` jurors who voted `ruling`; the first
    /// of them also takes the rounding dust, so the pot is paid out exactly.
    function _pay(
        mapping(address => uint256) storage credits,
        address[] storage jurors,
        mapping(address => IDisputeManager.Vote) storage votes,
        uint8 ruling,
        uint256 coherent,
        uint256 pot
    ) private {
        uint256 share = pot / coherent;
        uint256 dust = pot - share * coherent;
        for (uint256 i = 0; i < jurors.length; ++i) {
            address juror = jurors[i];
            if (votes[juror].vote == ruling) {
                uint256 amount = share + dust;
                dust = 0;
                credits[juror] += amount;
                emit IDisputeManager.Credited(juror, amount);
            }
        }
    }

    /// @notice Records a juror's vote commitment (v3 V6.3: non-zero, once per seat and round).
    function commitVote(
        IDisputeManager.RoundInfo storage r,
        IDisputeManager.Vote storage v,
        uint256 disputeId,
        uint8 round,
        bytes32 commitment
    ) external {
        if (commitment == bytes32(0)) revert IDisputeManager.DisputeManagerZeroCommitment(disputeId);
        if (!v.drawn) revert IDisputeManager.DisputeManagerNotJuror(disputeId, msg.sender);
        if (v.commitment != bytes32(0)) revert IDisputeManager.DisputeManagerAlreadyCommitted(disputeId, msg.sender);
        v.commitment = commitment;
        ++r.commits;
        emit IDisputeManager.VoteCommitted(disputeId, round, msg.sender);
    }

    /// @notice Records a revealed vote matching the juror's commitment
    /// `keccak256(abi.encode(disputeId, round, juror, vote, salt))`.
    function revealVote(
        IDisputeManager.RoundInfo storage r,
        IDisputeManager.Vote storage v,
        uint256 disputeId,
        uint8 round,
        uint8 vote,
        bytes32 salt
    ) external {
        if (vote == 0 || vote > 3) revert IDisputeManager.DisputeManagerInvalidVote(vote);
        if (
            v.commitment == bytes32(0) || v.vote != 0
                || v.commitment != keccak256(abi.encode(disputeId, round, msg.sender, vote, salt))
        ) revert IDisputeManager.DisputeManagerCommitmentMismatch(disputeId, msg.sender);
        v.vote = vote;
        ++r.reveals;
        ++r.counts[vote];
        emit IDisputeManager.VoteRevealed(disputeId, round, msg.sender, vote);
    }

    /// @notice Settles the appeals not yet settled and the juror pot against `finalRuling`: an
    /// appeal bond is refunded when the outcome differs from the ruling appealed (or there is none:
    /// void, moot), else added to the pot; the pot plus `extra` goes to the jurors coherent with
    /// `finalRuling` in the deciding round. Returns what nobody coherent can take (to be burned).
    function settleAppealsAndPot(
        IDisputeManager.Dispute storage d,
        mapping(uint256 => IDisputeManager.Appeal) storage appeals,
        mapping(uint256 => IDisputeManager.RoundInfo) storage rounds,
        mapping(uint256 => mapping(address => IDisputeManager.Vote)) storage votes,
        mapping(address => uint256) storage credits,
        IDisputeManager.Ruling finalRuling,
        uint256 extra
    ) external returns (uint256 burn) {
        uint256 pot = d.jurorPot + extra;
        d.jurorPot = 0;
        for (uint256 i = d.appealsSettled; i < d.appeals; ++i) {
            IDisputeManager.Appeal storage a = appeals[i];
            if (a.appealed == finalRuling) {
                pot += a.bond;
            } else {
                credits[a.appellant] += a.bond;
                emit IDisputeManager.Credited(a.appellant, a.bond);
            }
        }
        d.appealsSettled = d.appeals;
        if (pot == 0) return 0;
        uint8 round = d.decidingRound;
        IDisputeManager.RoundInfo storage r = rounds[round];
        // r.ruling is None or a vote value, so equality implies finalRuling is a vote value (1..3).
        uint256 coherent = r.ruling == finalRuling ? r.counts[uint8(finalRuling)] : 0;
        if (coherent == 0) return pot;
        _pay(credits, r.jurors, votes[round], uint8(finalRuling), coherent, pot);
    }
}
