/**
 * Juror-canary helpers of the adversarial tests (v3 V10.1, V11.1): commit a canary leaf for the next
 * epoch, create the canary job in that epoch, and drive a committee round with the truth revealed
 * between the commit and the reveal phase.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { postCanaryEpoch } from "../../../scripts/lib/canary";
import { createJob, saltOf, voteCommitment, type Adversarial } from "./fixture";

export const CANARY_SPEC = ethers.id("canary-spec: looks like any other manifest");
export const CANARY_SALT = ethers.id("canary-salt");

/** Posts a root for the next epoch holding `(CANARY_SPEC, faultSteps, CANARY_SALT)` and a decoy,
 * moves into that epoch and creates the canary job there. */
export async function canaryJob(fx: Adversarial, faultSteps: bigint[]): Promise<{ jobId: bigint; proof: string[] }> {
  const { epoch, tree } = await postCanaryEpoch(fx.canaryRegistry, [
    { specHash: CANARY_SPEC, faultSteps, salt: CANARY_SALT },
    { specHash: ethers.id("decoy"), faultSteps: [], salt: ethers.id("decoy-salt") },
  ]);
  const start = (await fx.canaryRegistry.genesis()) + epoch * (await fx.canaryRegistry.epochLength());
  if (BigInt(await time.latest()) < start) await time.increaseTo(start);
  const jobId = await createJob(fx, { specHash: CANARY_SPEC });
  return { jobId, proof: tree.proof(0) };
}

/** Every juror commits `votes[i]` (0: silent). */
export async function commitVotes(fx: Adversarial, disputeId: bigint, jurors: HardhatEthersSigner[], votes: number[]): Promise<void> {
  const round = (await fx.disputeManager.getDispute(disputeId)).round;
  for (let i = 0; i < jurors.length; i++) {
    if (!votes[i]) continue;
    const salt = saltOf(`vote:${disputeId}:${round}:${i}`);
    await fx.disputeManager.connect(jurors[i]).commitVote(disputeId, voteCommitment(disputeId, round, jurors[i].address, votes[i], salt));
  }
}

/** Reveals the committed votes, waits out the reveal window when someone stayed silent, resolves. */
export async function revealAndResolve(fx: Adversarial, disputeId: bigint, jurors: HardhatEthersSigner[], votes: number[]) {
  const round = (await fx.disputeManager.getDispute(disputeId)).round;
  const [commitEnd] = await fx.disputeManager.votingWindows(disputeId);
  const silent = votes.slice(0, jurors.length).some((v) => !v);
  if (silent && BigInt(await time.latest()) <= commitEnd) await time.increaseTo(commitEnd + 1n);
  for (let i = 0; i < jurors.length; i++) {
    if (!votes[i]) continue;
    await fx.disputeManager.connect(jurors[i]).revealVote(disputeId, votes[i], saltOf(`vote:${disputeId}:${round}:${i}`));
  }
  if (silent) {
    const [, revealEnd] = await fx.disputeManager.votingWindows(disputeId);
    await time.increaseTo(revealEnd + 1n);
  }
  return fx.disputeManager.resolve(disputeId);
}

/** Total stake (free + locked) of an account in the StakeManager. */
export async function stakeOf(fx: Adversarial, who: string): Promise<bigint> {
  const a = await fx.stakeManager.account(who);
  // Free, locked and the juror reserve (seat penalties come out of the reserve).
  return a.free + a.locked + a.reserve + a.pendingJoin;
}
