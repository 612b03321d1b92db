/**
 * v3 V1.4 end to end (in-process Hardhat network, the real worker and verifier daemons): a
 * verifier judges what the worker committed. A pretty-printed or extra-field index of an honest
 * worker is not disputed; malformed-index and withheld-leaf cheaters are pursued on chain (a
 * dispute without checkpoint proofs, step-leaf demands) and convicted instead of retried forever.
 */
import { expect } from "chai";
import path from "node:path";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deploySystem, type System } from "../../helpers/system";
import type { CheatMode, PublishCheat } from "../../../verifier/worker/cheats";
import {
  CHALLENGER_ACCOUNT,
  JUROR_ACCOUNT,
  daemonTestBed,
  readRecords,
  startVerifier,
  startWorker,
  verifierConfig,
  waitFor,
  type Running,
} from "./harness";
import { ChallengeKind, JobStatus, Ruling } from "../../../verifier/protocol/enums";

describe("verifier daemon: result index v3 V1.4 (real worker and verifiers)", function () {
  this.timeout(300_000);
  const bed = daemonTestBed("upow-v14-");
  const { miner, running } = bed;
  const track = (r: Running): Running => (running.push(r), r);
  const cheat = (publish: PublishCheat, train: CheatMode | null = null): CheatMode => ({ kind: "publish", publish, train: train as never });

  async function convicted(sys: System, jobId: bigint): Promise<void> {
    const conv = await waitFor(
      "conviction",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.WorkerConvicted(jobId)))[0],
    );
    expect(conv.args.slashed).to.be.greaterThan(0n);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected); // not paid
  }

  /** A demand of `kind` opened by the challenger, left unanswered past its deadline, convicts. */
  async function unansweredDemandConvicts(sys: System, jobId: bigint, kind: number): Promise<bigint> {
    const da = sys.dataAvailability;
    const opened = await waitFor(
      `demand of kind ${kind}`,
      async () =>
        (await da.queryFilter(da.filters.ChallengeOpened(undefined, jobId))).find(
          (e) => e.args.opener === sys.challenger.address && Number(e.args.kind) === kind,
        ),
      180_000,
    );
    const c = await da.getChallenge(opened.args.challengeId);
    await time.increaseTo(c.deadline + 1n);
    const expired = await waitFor(
      "demand timeout",
      async () => (await da.queryFilter(da.filters.ChallengeTimedOut(opened.args.challengeId)))[0],
    );
    expect(expired.args.convicted).to.equal(true);
    await convicted(sys, jobId);
    return opened.args.interval;
  }

  for (const mode of ["pretty", "extra-field"] as const) {
    it(`an honest worker whose index is ${mode}: audited, never disputed, paid`, async function () {
      const sys = await loadFixture(deploySystem);
      const { jobId } = await bed.requester.post(sys, { seed: `0x${"5a".repeat(32)}` });
      track(await startWorker(sys, path.join(bed.tmp, `${mode}-worker`), { cheat: cheat(mode) }));
      const dir = path.join(bed.tmp, `${mode}-verifier`);
      track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir)));
      miner.start();
      await waitFor(
        "audit passed",
        async () =>
          Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted &&
          readRecords(dir, (r) => r.audit(jobId)?.kind === "passed"),
        240_000,
      );
      await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
      await waitFor("finalized", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Finalized);
      expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.ChallengeCommitted())).to.have.length(0);
      expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened())).to.have.length(0);
    });
  }

  it("a skip cheater with a pretty-printed index: disputed, pinpointed, convicted by the jury", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    track(await startWorker(sys, path.join(bed.tmp, "pretty-skip-worker"), { cheat: cheat("pretty", { kind: "skip", fraction: 1 }) }));
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "pretty-skip-challenger"))));
    miner.start();
    const opened = await waitFor(
      "dispute opened",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened(undefined, jobId)))[0],
      240_000,
    );
    const disputeId = opened.args.disputeId;
    const drawn = await waitFor(
      "committee",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.CommitteeDrawn(disputeId)))[0],
    );
    for (const juror of new Set(drawn.args.jurors)) {
      const account = JUROR_ACCOUNT(sys.jurors.findIndex((s) => s.address === juror));
      track(
        startVerifier(
          await verifierConfig(sys, account, path.join(bed.tmp, `pretty-skip-juror-${account}`), { audit: false, challenge: false }),
        ),
      );
    }
    await waitFor(
      "ruling",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.RulingGiven(disputeId))).length > 0,
      180_000,
    );
    await time.increaseTo((await sys.disputeManager.getDispute(disputeId)).appealEnd + 1n);
    await convicted(sys, jobId);
  });

  it("bad step root, noise cheater (same interval) answering demands: leaves demanded and posted, pinpointed on the chain's leaves, convicted by the jury", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    track(
      await startWorker(sys, path.join(bed.tmp, "answered-worker"), {
        cheat: cheat("bad-step-root-answered", { kind: "noise", magnitude: 1 }),
      }),
    );
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "answered-challenger"))));
    miner.start();
    const da = sys.dataAvailability;
    const demand = await waitFor(
      "step-leaf demand",
      async () =>
        (await da.queryFilter(da.filters.ChallengeOpened(undefined, jobId))).find((e) => Number(e.args.kind) === ChallengeKind.StepLeaves),
      240_000,
    );
    expect(demand.args.interval).to.equal(2n);
    await waitFor("demand answered", async () => (await da.queryFilter(da.filters.ChallengeAnswered(demand.args.challengeId))).length > 0);
    const disputeId = demand.args.disputeId;
    const pinned = await waitFor(
      "pinpointed",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.StepPinpointed(disputeId)))[0],
      120_000,
    );
    expect(pinned.args.globalStep / 2n).to.equal(2n); // a step of the tampered interval (k = 2)
    const drawn = await waitFor(
      "committee",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.CommitteeDrawn(disputeId)))[0],
    );
    for (const juror of new Set(drawn.args.jurors)) {
      const account = JUROR_ACCOUNT(sys.jurors.findIndex((s) => s.address === juror));
      track(
        startVerifier(
          await verifierConfig(sys, account, path.join(bed.tmp, `answered-juror-${account}`), { audit: false, challenge: false }),
        ),
      );
    }
    await waitFor(
      "ruling",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.RulingGiven(disputeId))).length > 0,
      180_000,
    );
    for (const e of await sys.disputeManager.queryFilter(sys.disputeManager.filters.VoteRevealed(disputeId)))
      expect(e.args.vote).to.equal(Ruling.WorkerFault);
    await time.increaseTo((await sys.disputeManager.getDispute(disputeId)).appealEnd + 1n);
    await convicted(sys, jobId);
  });

  it("bad step root in one interval: that interval is disputed, its step leaves demanded, the silent worker convicted", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    track(await startWorker(sys, path.join(bed.tmp, "badroot-worker"), { cheat: cheat("bad-step-root") }));
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "badroot-challenger"))));
    miner.start();
    const interval = await unansweredDemandConvicts(sys, jobId, ChallengeKind.StepLeaves);
    expect(interval).to.equal(2n); // T/k = 4 intervals: the middle one is tampered with
  });

  it("withheld step leaves: the interval is disputed, the step-leaf demand unanswered, the worker convicted", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    track(await startWorker(sys, path.join(bed.tmp, "nosteps-worker"), { cheat: cheat("withhold-steps") }));
    track(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "nosteps-challenger"))));
    miner.start();
    expect(await unansweredDemandConvicts(sys, jobId, ChallengeKind.StepLeaves)).to.equal(2n);
    const [d] = await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened(undefined, jobId));
    expect(d!.args.interval).to.equal(2n);
  });

  it("withheld checkpoint leaves: a dispute opened without proofs, the checkpoint demand unanswered, the worker convicted; the index parsed once", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    track(await startWorker(sys, path.join(bed.tmp, "nockpt-worker"), { cheat: cheat("withhold-checkpoints") }));
    let parses = 0;
    let ticks = 0;
    track(
      startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "nockpt-challenger")), {
        indexParse: { onParse: () => parses++ },
        onTick: () => ticks++,
      }),
    );
    miner.start();
    await unansweredDemandConvicts(sys, jobId, ChallengeKind.Checkpoints);
    expect(await sys.dataAvailability.queryFilter(sys.dataAvailability.filters.CheckpointProven(jobId))).to.have.length(0);
    expect(ticks).to.be.greaterThan(5);
    expect(parses).to.equal(1);
  });
});
