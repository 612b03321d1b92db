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
    /// locking `jurorLock` of each, and opens its commit and reveal windows.
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
    ) external {
        address[] memory exclude = new address[](2);
        exclude[0] = worker;
        exclude[1] = d.challenger;
        uint8 round = d.round;
        // Trusted StakeManager: locks the jurors' stake under `lockId`.
        address[] memory jurors = stakeManager.drawJurors(
            seed, DisputeLogic.committeeSize(p.committeeSize, round), p.jurorLock, lockId, exclude
        );
        r.jurors = jurors;
        uint32 quorum = DisputeLogic.quorumFor(p.quorum, p.committeeSize, jurors.length);
        r.quorum = quorum;
        for (uint256 i = 0; i < jurors.length; ++i) {
            votes[jurors[i]].drawn = true;
        }
        uint64 commitEnd = uint64(block.timestamp) + commitWindow;
        uint64 revealEnd = commitEnd + p.revealWindow;
        d.phase = IDisputeManager.Phase.Voting;
        d.commitEnd = commitEnd;
        d.revealEnd = revealEnd;
        emit IDisputeManager.CommitteeDrawn(disputeId, round, jurors, quorum, commitEnd, revealEnd);
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
    function pay(
        mapping(address => uint256) storage credits,
        address[] storage jurors,
        mapping(address => IDisputeManager.Vote) storage votes,
        uint8 ruling,
        uint256 coherent,
        uint256 pot
    ) external {
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
}
