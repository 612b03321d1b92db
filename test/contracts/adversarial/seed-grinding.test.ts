/**
 * Attack 4 (issue 13): seed grinding.
 *
 * Pre-v3 the only source was BlockhashRandomness on every chain: the producer of the seed block
 * (a builder, a sequencer, or a worker who buys the block) chooses its hash, so it picks the
 * auditors and jurors; and a seed nobody read for 256 blocks was re-targeted, a free re-roll.
 * v3 V3.5: blockhash only on test chains; on L1 the seed is the prevrandao (mixHash) of exactly the
 * target block, proven by its header against the chain's own block hash, so nobody can offer
 * another block's value, and once revealed it never expires. Here the whole system runs on
 * PrevrandaoRandomness on the local chain (its blocks carry a prevrandao as L1 blocks do).
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { decodeRlp, encodeRlp, type RlpStructuredData } from "ethers";
import { PrevrandaoRandomness__factory } from "../../../typechain-types";
import { assertRandomnessAllowed } from "../../../scripts/lib/randomness";
import { checkRandomness, defaultParams } from "../../../scripts/lib/params";
import { DeployConfigError } from "../../../scripts/lib/errors";
import { provenHeader } from "../../helpers/blockHeader";
import { Phase, commitAndOpen, deployAdversarial, pinpoint, submittedJob } from "./fixture";

/** Mines one block at a time past `target`: Hardhat's batch mining (hardhat_mine) leaves the
 * mixHash of the blocks it skips zero, which no beacon chain does and which reveal refuses. */
async function mineEach(target: bigint): Promise<void> {
  while (BigInt(await ethers.provider.getBlockNumber()) <= target) await network.provider.send("evm_mine", []);
}

describe("adversarial: seed grinding", () => {
  async function setup() {
    const fx = await deployAdversarial((p) => {
      p.randomnessSource = "prevrandao";
      p.dispute.randomnessDelay = 64;
      p.auditDrawDelay = 64;
    });
    const randomness = PrevrandaoRandomness__factory.connect(await fx.disputeManager.randomness(), fx.admin);
    const jobId = await submittedJob(fx);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    const target = (await fx.disputeManager.getDispute(id)).randomnessBlock;
    return { fx, randomness, jobId, id, target };
  }

  it("deploy configs refuse blockhash outside test chains and prevrandao delays under 64 blocks", () => {
    expect(() => assertRandomnessAllowed(1n, "blockhash")).to.throw(DeployConfigError, /Ethereum mainnet/);
    expect(() => assertRandomnessAllowed(8453n, "blockhash")).to.throw(DeployConfigError, /Base/);
    const p = { ...defaultParams(), testTokens: true, randomnessSource: "prevrandao" as const };
    expect(() => checkRandomness(p)).to.throw(DeployConfigError, /dispute.randomnessDelay = 2 blocks is below 64/);
    expect(() => checkRandomness({ ...p, dispute: { ...p.dispute, randomnessDelay: 64 } })).to.throw(
      DeployConfigError,
      /auditDrawDelay = 1 blocks/,
    );
    expect(() => checkRandomness({ ...p, dispute: { ...p.dispute, randomnessDelay: 64 }, auditDrawDelay: 64 })).not.to.throw();
  });

  it("the draw waits for the target block's own prevrandao; no other block's value is accepted", async () => {
    const { fx, randomness, id, target } = await loadFixture(setup);
    expect(target).to.be.greaterThan(0n);
    // The seed lies 64 blocks ahead of the pinpoint: nobody knew it when the draw was scheduled.
    await mineEach(target);
    await expect(fx.disputeManager.drawCommittee(id)).to.be.revertedWithCustomError(fx.disputeManager, "DisputeManagerRandomnessNotReady");
    // The worker offers the header of a neighbouring block whose prevrandao it likes better.
    const other = await provenHeader(target - 1n);
    await expect(randomness.connect(fx.worker).reveal(target, other.rlp)).to.be.revertedWithCustomError(
      randomness,
      "PrevrandaoRandomnessWrongBlock",
    );
    // ... or the true header with its mixHash replaced.
    const { rlp, block } = await provenHeader(target);
    const fields = decodeRlp(rlp) as RlpStructuredData[];
    fields[13] = "0x" + "11".repeat(32);
    await expect(randomness.connect(fx.worker).reveal(target, encodeRlp(fields))).to.be.revertedWithCustomError(
      randomness,
      "PrevrandaoRandomnessHeaderMismatch",
    );
    // Anyone holding the true header reveals it; the draw then uses exactly that value.
    await randomness.connect(fx.stranger).reveal(target, rlp);
    expect(await randomness.valueAt(target)).to.equal(block.mixHash);
    await fx.disputeManager.drawCommittee(id);
    expect((await fx.disputeManager.getDispute(id)).phase).to.equal(Phase.Voting);
  });

  it("a block without a prevrandao (zero mixHash) cannot be revealed", async () => {
    const { fx, randomness, target } = await loadFixture(setup);
    // Batch-mined local blocks carry a zero mixHash: reveal refuses it rather than record "nothing".
    await mine(Number(target) + 1 - (await ethers.provider.getBlockNumber()));
    const { rlp, block } = await provenHeader(target);
    expect(block.mixHash).to.equal(ethers.ZeroHash);
    await expect(randomness.connect(fx.stranger).reveal(target, rlp))
      .to.be.revertedWithCustomError(randomness, "PrevrandaoRandomnessZeroValue")
      .withArgs(target);
  });

  it("a revealed seed never expires: withholding the draw for 300 blocks does not re-roll it", async () => {
    const { fx, randomness, id, target } = await loadFixture(setup);
    await mineEach(target);
    await randomness.connect(fx.stranger).reveal(target, (await provenHeader(target)).rlp);
    await mine(300);
    expect(await randomness.isExpired(target)).to.equal(false);
    const tx = fx.disputeManager.drawCommittee(id);
    await expect(tx).not.to.emit(fx.disputeManager, "RandomnessRetargeted");
    await expect(tx).to.emit(fx.disputeManager, "CommitteeDrawn");
    expect((await fx.disputeManager.getDispute(id)).randomnessBlock).to.equal(target);
  });

  it("the auditor draw is seeded the same way, 64 blocks after submission", async () => {
    const { fx, randomness, jobId } = await loadFixture(setup);
    const am = (await import("../../../typechain-types")).AuditManager__factory.connect(await fx.jobMarket.auditManager(), fx.admin);
    const a = await am.getAudit(jobId);
    const submitted = (await fx.jobMarket.getJob(jobId)).submittedBlock;
    expect(a.drawTarget).to.equal(submitted + 64n);
    await mineEach(a.drawTarget);
    await expect(am.drawAuditors(jobId)).to.be.revertedWithCustomError(am, "AuditManagerDrawNotReady");
    await randomness.reveal(a.drawTarget, (await provenHeader(a.drawTarget)).rlp);
    await expect(am.drawAuditors(jobId)).to.emit(am, "AuditorsAssigned");
  });
});
