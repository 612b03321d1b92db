/**
 * Issue 19: a second execution backend. Juror daemons that re-execute with the WebGPU EP (Mesa
 * lavapipe in CI, see scripts/setup-webgpu.sh) judge steps a worker trained on the CPU EP, end to
 * end on the in-process Hardhat network: real contracts, a real worker daemon, a real challenger
 * daemon, real disputes.
 *  - an honest CPU-trained step: a mistaken challenger (its executor is off by 1%) disputes an
 *    honest worker; the WebGPU jurors vote WorkerHonest (cross-implementation drift stays inside
 *    the tolerance);
 *  - a skip cheater: the WebGPU jurors vote WorkerFault and the worker is convicted.
 * Skipped, with the reason printed, only when the WebGPU EP is unavailable (test/verifier/webgpu/available.ts).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { StepRunner } from "../../../verifier/engine/runner";
import { isFloatDType, type TensorMap } from "../../../verifier/engine/tensor";
import type { RunnerFactory } from "../../../verifier/daemon/check/runners";
import { Ruling } from "../../../verifier/daemon/solver/types";
import { deploySystem, type System } from "../../helpers/system";
import {
  CHALLENGER_ACCOUNT,
  JUROR_ACCOUNT,
  Miner,
  Requester,
  startVerifier,
  startWorker,
  stop,
  verifierConfig,
  waitFor,
  type Running,
} from "../daemon/harness";
import { requireWebGpu } from "./available";
import { JobStatus } from "../../../verifier/protocol/enums";

/** What `--ep webgpu` wires: onnxruntime-node's WebGPU EP with the juror's optimisation levels. */
let webGpuSessions = 0;
const webGpuRunners: RunnerFactory = async (graph, s) => {
  const r = await StepRunner.create({ graph, ep: "webgpu", optLevel: s.optLevel });
  expect(r.settings.ep).to.equal("webgpu");
  webGpuSessions++;
  return r;
};

/** A challenger whose executor is wrong (every float of the next state × 1.01): it disputes honest work. */
const mistakenRunners: RunnerFactory = async (graph, s) => {
  const r = await StepRunner.create({ graph, threads: s.threads, optLevel: s.optLevel });
  return {
    step: async (state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>) => {
      const out = await r.step(state, batch, hp);
      const next: TensorMap = new Map();
      for (const [name, t] of out.next) {
        next.set(name, isFloatDType(t.dtype) ? { ...t, data: (t.data as Float32Array).map((v) => v * 1.01) } : t);
      }
      return { ...out, next };
    },
    dispose: () => r.dispose(),
  };
};

describe("WebGPU jurors (second execution backend) on the in-process chain", function () {
  this.timeout(240_000);
  let tmp: string;
  let requester: Requester;
  const miner = new Miner();
  const running: Running[] = [];

  before(async function () {
    await requireWebGpu(this);
    tmp = await mkdtemp(path.join(tmpdir(), "upow-webgpu-juror-"));
    requester = await Requester.open(tmp);
  });
  after(async function () {
    if (requester) await requester.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  afterEach(async function () {
    miner.stop();
    for (const r of running.splice(0)) await stop(r);
  });

  /**
   * Runs the dispute of `jobId` to a ruling with WebGPU juror daemons; returns it and the revealed votes.
   * `factory`: both of each juror's runs on WebGPU (the test's runner factory); `juror-ep`: what an
   * operator's `--juror-ep webgpu` wires — the CPU reference and a WebGPU second run, each in the
   * daemon's own step process.
   */
  async function judgeWithWebGpuJurors(sys: System, jobId: bigint, label: string, mode: "factory" | "juror-ep" = "factory") {
    const opened = await waitFor(
      "dispute opened",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened(undefined, jobId)))[0],
      120_000,
    );
    const disputeId = opened.args.disputeId;
    await waitFor(
      "step pinpointed",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.StepPinpointed(disputeId))).length > 0,
      120_000,
    );
    // Three seats, drawn with replacement: one to three distinct jurors (each votes once for its seats).
    const jurors = await waitFor("committee", async () => {
      const [ev] = await sys.disputeManager.queryFilter(sys.disputeManager.filters.CommitteeDrawn(disputeId));
      return ev ? [...ev.args.jurors] : undefined;
    });
    const sessionsBefore = webGpuSessions;
    for (const [i, addr] of jurors.entries()) {
      const account = JUROR_ACCOUNT(sys.jurors.findIndex((s) => s.address === addr));
      const cfg = await verifierConfig(sys, account, path.join(tmp, `${label}-juror${i}`), {
        audit: false,
        challenge: false,
        ...(mode === "juror-ep" ? { jurorEp: "webgpu" as const } : {}),
      });
      running.push(mode === "factory" ? startVerifier(cfg, { runners: webGpuRunners }) : startVerifier(cfg));
    }
    await waitFor(
      "ruling",
      async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.RulingGiven(disputeId))).length > 0,
      120_000,
    );
    const reveals = await sys.disputeManager.queryFilter(sys.disputeManager.filters.VoteRevealed(disputeId));
    expect(reveals.map((e) => e.args.juror).sort()).to.deep.equal([...jurors].sort());
    // every juror ran the pinpointed step twice (§10.4), on WebGPU
    if (mode === "factory") expect(webGpuSessions - sessionsBefore).to.be.at.least(2 * jurors.length);
    return { disputeId, votes: reveals.map((e) => Number(e.args.vote)) };
  }

  it("vote WorkerHonest on an honest CPU-trained step disputed by a mistaken challenger", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await requester.post(sys, { seed: ethers.id("webgpu-honest") });
    running.push(await startWorker(sys, path.join(tmp, "honest-worker"), { ep: "cpu" }));
    running.push(
      startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(tmp, "mistaken-challenger")), { runners: mistakenRunners }),
    );
    miner.start();
    const { disputeId, votes } = await judgeWithWebGpuJurors(sys, jobId, "honest");
    expect(votes).to.deep.equal(votes.map(() => Ruling.WorkerHonest));
    expect(votes.length).to.be.greaterThan(0);
    expect((await sys.disputeManager.getDispute(disputeId)).ruling).to.equal(BigInt(Ruling.WorkerHonest));
    expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.WorkerConvicted(jobId))).to.have.length(0);
  });

  it("vote WorkerFault on a skip cheater's step; the worker is convicted", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await requester.post(sys, { seed: ethers.id("webgpu-skip") });
    running.push(await startWorker(sys, path.join(tmp, "skip-worker"), { cheat: { kind: "skip", fraction: 1 } }));
    running.push(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(tmp, "skip-challenger"))));
    miner.start();
    const { disputeId, votes } = await judgeWithWebGpuJurors(sys, jobId, "skip");
    expect(votes).to.deep.equal(votes.map(() => Ruling.WorkerFault));
    expect(votes.length).to.be.greaterThan(0);
    const d = await sys.disputeManager.getDispute(disputeId);
    expect(d.ruling).to.equal(BigInt(Ruling.WorkerFault));
    await time.increaseTo(d.appealEnd + 1n);
    await waitFor("conviction", async () => (await sys.disputeManager.queryFilter(sys.disputeManager.filters.WorkerConvicted(jobId)))[0]);
    expect((await sys.jobMarket.getJob(jobId)).status).to.equal(JobStatus.Rejected);
  });

  it("with --juror-ep webgpu (CPU reference + WebGPU second run in the daemon's step processes), vote WorkerHonest on an honest WebGPU-trained step", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await requester.post(sys, { seed: ethers.id("webgpu-worker-honest") });
    running.push(await startWorker(sys, path.join(tmp, "webgpu-worker"), { ep: "webgpu" }));
    running.push(
      startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(tmp, "mistaken-challenger-2")), { runners: mistakenRunners }),
    );
    miner.start();
    const { disputeId, votes } = await judgeWithWebGpuJurors(sys, jobId, "juror-ep", "juror-ep");
    expect(votes.length).to.be.greaterThan(0);
    expect(votes).to.deep.equal(votes.map(() => Ruling.WorkerHonest));
    expect((await sys.disputeManager.getDispute(disputeId)).ruling).to.equal(BigInt(Ruling.WorkerHonest));
    expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.WorkerConvicted(jobId))).to.have.length(0);
  });
});
