// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDisputeManager} from "../interfaces/IDisputeManager.sol";
import {IStakeManager} from "../interfaces/IStakeManager.sol";
import {IRandomness} from "../interfaces/IRandomness.sol";
import {DisputeLogic} from "./DisputeLogic.sol";
import {BURN_ADDRESS} from "./UPowConstants.sol";

/// @title DisputeJury
/// @notice Juror settlement of the DisputeManager (§7.5, §10.7), run by DELEGATECALL in the
/// manager's context (its storage, its MODULE_ROLE, its events).
/// @dev External functions so the loops live outside the manager's 24 KiB. Every loop is bounded by
/// the committee cap (DisputeLogic.MAX_COMMITTEE).
library DisputeJury {

    /// @dev What ending a round leads to (the manager carries out the last three).
    enum RoundOutcome {
        Ruled, // a ruling was given; appealable until appealEnd
        NextRound, // quorum missed: a larger round after a new randomness delay
        KeepRuling, // an appeal round missed quorum: the appealed ruling stands (v3 V6.1)
        Void // quorum missed maxRounds times
    }

    /// @notice Ends the dispute's current round: settles its jurors and gives the ruling of the tally
    /// (v3 V9.2), or, below quorum, settles them without coherence and says what follows.
    function resolveRound(
        IStakeManager stakeManager,
        IDisputeManager.Dispute storage d,
        IDisputeManager.Params storage p,
        IDisputeManager.RoundInfo storage r,
        mapping(address => IDisputeManager.Vote) storage votes,
        bytes32 lockId,
        uint256 disputeId
    ) external returns (RoundOutcome) {
        uint8 round = d.round;
        // V10: a juror canary's truth (0: none) and whether this round answers an appeal (V10.2).
        uint8 truth = uint8(r.truth);
        bool appealRound = d.appeals > d.appealsSettled;
        if (r.reveals < r.quorum) {
            d.jurorPot += settle(stakeManager, r.jurors, votes, lockId, p, disputeId, round, 0, truth, appealRound);
            emit IDisputeManager.RoundFailed(disputeId, round, r.reveals, r.quorum);
            if (d.appeals > d.appealsSettled) return RoundOutcome.KeepRuling;
            if (++d.failedRounds >= p.maxRounds) return RoundOutcome.Void;
            return RoundOutcome.NextRound;
        }
        IDisputeManager.Ruling ruling = DisputeLogic.tally(r.counts, r.reveals);
        r.ruling = ruling;
        d.jurorPot += settle(stakeManager, r.jurors, votes, lockId, p, disputeId, round, uint8(ruling), truth, appealRound);
        d.ruling = ruling;
        d.decidingRound = round;
        d.phase = IDisputeManager.Phase.Ruled;
        d.appealEnd = uint64(block.timestamp) + p.appealWindow;
        emit IDisputeManager.RulingGiven(disputeId, round, ruling, d.appealEnd);
        return RoundOutcome.Ruled;
    }

    /// @dev What a draw needs besides the dispute's storage.
    struct DrawContext {
        IStakeManager stakeManager;
        IRandomness randomness;
        address worker;
        bytes32 lockId;
        uint256 disputeId;
        uint64 commitWindow; // jurors fetch two states and run the step twice before committing (§10.11)
    }

    /// @notice Draws the committee of the dispute's current round (excluding worker and challenger),
    /// locking `jurorLock` per seat, and opens its commit and reveal windows. The draw reads the
    /// frozen weights of the epoch its seed was scheduled in (v3 V3.2): when that epoch is over, the
    /// seed expired unread, or the schedule waited for the next epoch, the first call schedules a new
    /// seed in the current epoch instead. Also re-schedules when nobody could be drawn and
    /// `maxDrawWait` has not passed (V5.2). Returns true only when the manager must give up.
    function drawRound(
        DrawContext memory ctx,
        IDisputeManager.Dispute storage d,
        IDisputeManager.Params storage p,
        IDisputeManager.RoundInfo storage r,
        mapping(address => IDisputeManager.Vote) storage votes
    ) external returns (bool giveUp) {
        uint64 target = d.randomnessBlock;
        uint64 epoch = ctx.stakeManager.currentEpoch();
        if (epoch < d.drawEpoch) revert IDisputeManager.DisputeManagerRandomnessNotReady(ctx.disputeId, target);
        if (target != 0 && epoch == d.drawEpoch && !ctx.randomness.isExpired(target)) {
            if (!ctx.randomness.isAvailable(target)) {
                revert IDisputeManager.DisputeManagerRandomnessNotReady(ctx.disputeId, target);
            }
            if (_draw(ctx, d, p, r, votes, keccak256(abi.encode(ctx.randomness.valueAt(target), ctx.disputeId, d.round)))) {
                return false;
            }
            if (block.timestamp >= uint256(d.drawSince) + p.maxDrawWait) return true;
        }
        schedule(ctx.stakeManager, ctx.randomness, d, p.randomnessDelay);
        emit IDisputeManager.RandomnessRetargeted(ctx.disputeId, d.randomnessBlock);
        return false;
    }

    /// @notice Schedules the seed of the dispute's next draw (`StakeManager.scheduleDraw`: only on a
    /// settled queue), its target counted in the randomness source's own blocks.
    function schedule(IStakeManager stakeManager, IRandomness randomness, IDisputeManager.Dispute storage d, uint256 delay)
        public
    {
        (d.drawEpoch, d.randomnessBlock) = stakeManager.scheduleDraw(randomness.currentBlock(), delay);
    }

    function _draw(
        DrawContext memory ctx,
        IDisputeManager.Dispute storage d,
        IDisputeManager.Params storage p,
        IDisputeManager.RoundInfo storage r,
        mapping(address => IDisputeManager.Vote) storage votes,
        bytes32 seed
    ) private returns (bool drawn) {
        address[] memory jurors;
        uint256[] memory seats;
        {
            address[] memory exclude = new address[](2);
            exclude[0] = ctx.worker;
            exclude[1] = d.challenger;
            uint256 size = DisputeLogic.committeeSize(p.committeeSize, d.round - d.roundBase);
            // Parameters validate every reachable size; this only guards a dispute that escalated
            // under earlier, larger limits (governance may lower them mid-dispute).
            if (size > DisputeLogic.MAX_COMMITTEE) size = DisputeLogic.MAX_COMMITTEE;
            // Trusted StakeManager: locks `jurorLock` per seat under `lockId`.
            (jurors, seats) = ctx.stakeManager.drawSeats(seed, size, p.jurorLock, ctx.lockId, exclude);
        }
        if (jurors.length == 0) return false;
        r.jurors = jurors;
        uint256 filled = 0;
        for (uint256 i = 0; i < jurors.length; ++i) {
            votes[jurors[i]].seats = uint8(seats[i]);
            filled += seats[i];
        }
        r.seats = uint32(filled);
        r.quorum = DisputeLogic.quorumFor(p.quorum, p.committeeSize, filled);
        d.phase = IDisputeManager.Phase.Voting;
        d.commitEnd = uint64(block.timestamp) + ctx.commitWindow;
        d.revealEnd = d.commitEnd + p.revealWindow;
        _emitDrawn(ctx.disputeId, d, r);
        return true;
    }

    function _emitDrawn(uint256 disputeId, IDisputeManager.Dispute storage d, IDisputeManager.RoundInfo storage r)
        private
    {
        emit IDisputeManager.CommitteeDrawn(disputeId, d.round, r.jurors, r.quorum, d.commitEnd, d.revealEnd);
    }

    /// @notice Unlocks every juror of a round less its `DisputeLogic.jurorPenalty` per seat:
    /// non-revealers lose their whole lock, revealers whose vote differs from `ruling` (0 = no
    /// ruling: no coherence) lose `incoherencePenalty` (the whole lock in an appeal round, V10.2), or,
    /// when a juror canary's truth is known (`truth` non-zero), whose vote differs from it lose the
    /// whole lock (V10.1). Slashed tokens come to the manager and are returned as the pot; in a
    /// canary round they are burned instead (the pot goes to the jurors coherent with the ruling, who
    /// may be the very jurors the canary caught).
    function settle(
        IStakeManager stakeManager,
        address[] storage jurors,
        mapping(address => IDisputeManager.Vote) storage votes,
        bytes32 lockId,
        IDisputeManager.Params storage p,
        uint256 disputeId,
        uint8 round,
        uint8 ruling,
        uint8 truth,
        bool appealRound
    ) public returns (uint256 pot) {
        for (uint256 i = 0; i < jurors.length; ++i) {
            address juror = jurors[i];
            uint256 penalty = _penalty(votes[juror], p, ruling, truth, appealRound);
            if (penalty > 0) {
                // Trusted StakeManager: transfers the slashed stake to the manager (this context), or
                // burns it in a canary round.
                uint256 taken = stakeManager.slash(juror, lockId, penalty, truth == 0 ? address(this) : BURN_ADDRESS);
                if (truth == 0) pot += taken;
                emit IDisputeManager.JurorPenalized(disputeId, round, juror, taken);
            }
            stakeManager.unlock(juror, lockId);
        }
    }

    /// @dev `DisputeLogic.jurorPenalty` for each of the juror's seats.
    function _penalty(
        IDisputeManager.Vote storage v,
        IDisputeManager.Params storage p,
        uint8 ruling,
        uint8 truth,
        bool appealRound
    ) private view returns (uint256) {
        return DisputeLogic.jurorPenalty(v.vote, ruling, truth, appealRound, p.jurorLock, p.incoherencePenalty) * v.seats;
    }

    /// @notice Releases every juror of an interrupted round without penalty.
    function release(IStakeManager stakeManager, address[] storage jurors, bytes32 lockId) external {
        for (uint256 i = 0; i < jurors.length; ++i) {
            stakeManager.unlock(jurors[i], lockId);
        }
    }

    /// @notice Credits `pot` in equal shares per seat to the `coherent` seats that voted `ruling`;
    /// the first of them also takes the rounding dust, so the pot is paid out exactly.
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
            IDisputeManager.Vote storage v = votes[juror];
            if (v.vote == ruling) {
                uint256 amount = share * v.seats + dust;
                dust = 0;
                credits[juror] += amount;
                emit IDisputeManager.Credited(juror, amount);
            }
        }
    }

    /// @notice Records a juror's vote commitment for all its seats (v3 V6.3: non-zero, once per
    /// juror and round; a juror's seats vote alike). Only its first 30 bytes are kept (one slot with
    /// the seats, issue 17); they must be non-zero, else "committed" could not be told from "not yet".
    function commitVote(
        IDisputeManager.RoundInfo storage r,
        IDisputeManager.Vote storage v,
        uint256 disputeId,
        uint8 round,
        bytes32 commitment
    ) external {
        bytes30 stored = bytes30(commitment);
        if (stored == bytes30(0)) revert IDisputeManager.DisputeManagerZeroCommitment(disputeId);
        if (v.seats == 0) revert IDisputeManager.DisputeManagerNotJuror(disputeId, msg.sender);
        if (v.commitment != bytes30(0)) revert IDisputeManager.DisputeManagerAlreadyCommitted(disputeId, msg.sender);
        v.commitment = stored;
        r.commits += v.seats;
        emit IDisputeManager.VoteCommitted(disputeId, round, msg.sender);
    }

    /// @notice Records a revealed vote matching the juror's commitment
    /// `keccak256(abi.encode(disputeId, round, juror, vote, salt))` in its first 30 bytes.
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
            v.commitment == bytes30(0) || v.vote != 0
                || v.commitment != bytes30(keccak256(abi.encode(disputeId, round, msg.sender, vote, salt)))
        ) revert IDisputeManager.DisputeManagerCommitmentMismatch(disputeId, msg.sender);
        v.vote = vote;
        r.reveals += v.seats;
        r.counts[vote] += v.seats;
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
