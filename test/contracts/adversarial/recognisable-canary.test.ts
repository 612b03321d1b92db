/**
 * Attack (v3 V11.1): recognisable canaries. HEAD~ contracts/AuditManager.sol `registerCanary(jobId,
 * commitment)` marked a canary job on chain (CanaryRegistered event, `canaryCommitment` in the audit
 * record) while it was still Open: every auditor and juror could see which jobs were canaries, do
 * honest work on those and skip it everywhere else.
 *
 * Now canaries are committed once per epoch as one Merkle root (CanaryRegistry), posted before the
 * epoch starts, and nothing per job reaches the chain until the reveal; a root can only be posted
 * for a future epoch, so no job that already exists can be made a canary after the fact.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, Interface, Log } from "ethers";
import { buildCanaryTree, postCanaryEpoch } from "../../../scripts/lib/canary";
import { claimAndSubmit, createJob, deployAdversarial, jobParams, passWindow, type Adversarial } from "./fixture";
import { CANARY_SALT, CANARY_SPEC } from "./canary";

/** Event signatures (topic 0) and emitting contracts of a transaction's logs, minus the job id. */
async function footprint(tx: Promise<ContractTransactionResponse>): Promise<string[]> {
  const receipt = await (await tx).wait();
  return receipt!.logs.map((l: Log) => `${l.address}:${l.topics[0]}:${l.topics.length}`);
}

async function registryLogs(fx: Adversarial, fromBlock: number): Promise<number> {
  return (await ethers.provider.getLogs({ address: [await fx.canaryRegistry.getAddress(), await fx.auditManager.getAddress()], fromBlock }))
    .length;
}

describe("adversarial: recognisable canaries (v3 V11.1)", () => {
  it("no per-job canary registration exists: no function, no event, no field", async () => {
    const fx = await loadFixture(deployAdversarial);
    for (const c of [fx.auditManager, fx.jobMarket, fx.disputeManager, fx.canaryRegistry]) {
      const iface = c.interface as unknown as Interface;
      expect(iface.getFunction("registerCanary")).to.equal(null);
      expect(iface.getEvent("CanaryRegistered")).to.equal(null);
    }
    const audit = fx.auditManager.interface.getFunction("getAudit")!.outputs[0].components!.map((p) => p.name);
    expect(audit).not.to.include("canaryCommitment");
  });

  it("a canary job looks on chain exactly like any other job until it is revealed", async () => {
    const fx = await loadFixture(deployAdversarial);
    const { epoch, tree } = await postCanaryEpoch(fx.canaryRegistry, [{ specHash: CANARY_SPEC, faultSteps: [2n], salt: CANARY_SALT }]);
    await time.increaseTo((await fx.canaryRegistry.genesis()) + epoch * (await fx.canaryRegistry.epochLength()));
    const from = (await ethers.provider.getBlockNumber()) + 1;
    // A plain job and the canary job, created in the same epoch by the same kind of call.
    const plainId = await fx.jobMarket.nextJobId();
    const plainPrint = await footprint(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx)));
    const canaryId = plainId + 1n;
    const canaryPrint = await footprint(fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, { specHash: CANARY_SPEC })));
    expect(canaryPrint).to.deep.equal(plainPrint);
    for (const id of [plainId, canaryId]) await claimAndSubmit(fx, id);
    // Nothing about either job was written by the registry; the AuditManager logged the same thing
    // for both (each job's auditor draw scheduled at submission)...
    expect(await registryLogs(fx, from)).to.equal(2);
    const scheduled = await fx.auditManager.queryFilter(fx.auditManager.filters.AuditDrawScheduled(), from);
    expect(scheduled.map((e) => e.args.jobId)).to.deep.equal([plainId, canaryId]);
    // ...and their audit records cannot tell them apart (beyond each one's own seed block).
    const [a, b] = await Promise.all([fx.auditManager.getAudit(plainId), fx.auditManager.getAudit(canaryId)]);
    const strip = (r: typeof a) => [...r].map((v, i) => (i === 7 ? 0n : v)); // field 7: drawTarget
    expect(strip(a)).to.deep.equal(strip(b));
    // Only the reveal, after the window, says which one was a canary.
    await passWindow(fx, canaryId);
    await expect(fx.auditManager.revealCanary(plainId, [2n], CANARY_SALT, tree.proof(0))).to.be.revertedWithCustomError(
      fx.auditManager,
      "AuditManagerBadReveal",
    );
    await expect(fx.auditManager.revealCanary(canaryId, [2n], CANARY_SALT, tree.proof(0)))
      .to.emit(fx.auditManager, "CanaryRevealed")
      .withArgs(canaryId, [2n]);
  });

  it("a root for the current or a past epoch is refused", async () => {
    const fx = await loadFixture(deployAdversarial);
    const reg = fx.canaryRegistry;
    const start = await reg.currentEpoch();
    await time.increase(3n * (await reg.epochLength()));
    const now = await reg.currentEpoch();
    expect(now).to.equal(start + 3n);
    for (const e of [now, now - 1n, 0n]) {
      await expect(reg.postRoot(e, ethers.id("late")))
        .to.be.revertedWithCustomError(reg, "CanaryRegistryEpochNotFuture")
        .withArgs(e, now);
    }
    await expect(reg.postRoot(now + 1n, ethers.id("on time"))).to.emit(reg, "CanaryRootPosted");
  });

  it("a job created before its epoch's root was posted can never be revealed as a canary", async () => {
    const fx = await loadFixture(deployAdversarial);
    const reg = fx.canaryRegistry;
    // A real requester's job exists; the operator would like to "catch" its auditors and jurors.
    const jobId = await createJob(fx, { specHash: CANARY_SPEC });
    await claimAndSubmit(fx, jobId);
    const tree = buildCanaryTree([{ specHash: CANARY_SPEC, faultSteps: [2n], salt: CANARY_SALT }]);
    const epoch = await reg.currentEpoch();
    // Its epoch is the current one: too late to post that epoch's root.
    await expect(reg.postRoot(epoch, tree.root)).to.be.revertedWithCustomError(reg, "CanaryRegistryEpochNotFuture");
    // The next epoch's root may hold the leaf, but the job was not created in that epoch.
    await reg.postRoot(epoch + 1n, tree.root);
    await passWindow(fx, jobId);
    await expect(fx.auditManager.revealCanary(jobId, [2n], CANARY_SALT, tree.proof(0)))
      .to.be.revertedWithCustomError(fx.auditManager, "AuditManagerBadReveal")
      .withArgs(jobId);
    expect(await reg.verifyCanary((await fx.jobMarket.getJob(jobId)).createdAt, CANARY_SPEC, [2n], CANARY_SALT, tree.proof(0))).to.equal(
      false,
    );
  });
});
