/**
 * v3 V7 end to end on the in-process Hardhat network: a real worker that publishes only its
 * checkpoints (`--publish-steps on-dispute`) and perturbs one step between the single-step and the
 * interval bound (`noise=x`); the job's one assigned auditor runs the verifier daemon, obtains the
 * inner step states by signed requests (V7.1), and its audit flags the interval by the single-step
 * check although the k-step replay passes (V7.2). Then the worker's state route is probed with
 * requests that must be refused.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deploySystem, JUROR_STAKE } from "../../helpers/system";
import { enterNextEpoch } from "../../helpers/staking";
import { parseResultIndex } from "../../../verifier/protocol/resultIndex";
import { signStateRequest, STATE_REQUEST_HEADERS, statePath, type StateRequestDomain } from "../../../verifier/protocol/stateRequest";
import { sha256Hex } from "../../../verifier/store";
import { noisyStep } from "../../../verifier/worker/cheats";
import {
  JUROR_ACCOUNT,
  Miner,
  Requester,
  accountKey,
  readRecords,
  startVerifier,
  startWorker,
  stop,
  verifierConfig,
  waitFor,
  type Running,
} from "./harness";

const SUBMITTED = 3n;
const T = 16,
  k = 8;
/** Between the bounds for the harness job (784-16-10 SGD, batch 16) at δ_upd 3·10⁻³, δ_k 6·10⁻³: single-step ratio ≈ 1.4, interval ≈ 0.17, and small enough not to flip a ReLU (audit.test.ts says why and checks it). */
const BETWEEN_BOUNDS = 6e-6;

describe("verifier daemon: single-step audit with signed state requests (v3 V7)", function () {
  this.timeout(300_000);
  let tmp: string;
  const miner = new Miner();
  const running: Running[] = [];

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-v7-"));
  });
  after(async function () {
    miner.stop();
    for (const r of running.splice(0)) await stop(r);
    await rm(tmp, { recursive: true, force: true });
  });

  it("the assigned auditor fetches unpublished step states by signed request and flags the perturbed step; others are refused", async function () {
    const sys = await loadFixture(deploySystem);
    // Juror 0 is the only one left in the jury, so it holds every auditor seat of the job.
    const auditor = sys.jurors[0]!;
    for (const j of sys.jurors.slice(1)) await sys.stakeManager.connect(j).leaveJury(JUROR_STAKE);
    await enterNextEpoch(sys.stakeManager);
    const requester = await Requester.open(path.join(tmp, "req"));
    try {
      const { jobId } = await requester.post(sys, { T, k });
      running.push(
        await startWorker(sys, path.join(tmp, "worker"), {
          cheat: { kind: "noise", magnitude: BETWEEN_BOUNDS },
          publishSteps: "on-dispute",
          stateQuota: 32,
        }),
      );
      await waitFor("submitted", async () => (await sys.jobMarket.getJob(jobId)).status === SUBMITTED, 120_000);
      const [ev] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
      const index = parseResultIndex(Buffer.from(await (await fetch(ev!.args.resultURI)).arrayBuffer()));
      const base = index.artifactBaseUrls[0]!;
      const bad = noisyStep(T, k); // S_{bad+1} is perturbed: interval 1, local step bad − k
      const inner = index.intervals[1]!.steps[bad - k + 1]!;
      // Not public: only a signed request can get it.
      expect((await fetch(`${base}/artifacts/${inner.sha256}`)).status).to.equal(404);

      const dir = path.join(tmp, "auditor");
      running.push(startVerifier(await verifierConfig(sys, JUROR_ACCOUNT(0), dir, { audit: false, challenge: false, singleSteps: k })));
      miner.start();
      const outcome = await waitFor("audit outcome", async () => readRecords(dir, (r) => r.audit(jobId)), 180_000);
      expect(await sys.auditManager.isAuditor(jobId, auditor.address)).to.equal(true);
      expect(outcome.kind, JSON.stringify(outcome)).to.equal("failed");
      if (outcome.kind !== "failed") return;
      expect(outcome.failedIntervals).to.deep.equal([1]);
      // "single step" in the reason: the k-step replay of interval 1 passed (a failing replay is reported first, without single steps).
      expect(outcome.reason).to.match(new RegExp(`interval 1: single step ${bad}: `));

      // The worker's state route, probed directly.
      const domain: StateRequestDomain = {
        chainId: (await ethers.provider.getNetwork()).chainId,
        jobMarket: await sys.jobMarket.getAddress(),
      };
      const now = BigInt(await time.latest());
      const ask = async (
        key: string,
        o: { step?: number; signedStep?: number; job?: bigint; expiry?: bigint; unsigned?: boolean } = {},
      ) => {
        const step = o.step ?? bad + 1;
        const expiry = o.expiry ?? now + 600n;
        const wallet = new ethers.Wallet(key);
        const sig = await signStateRequest(wallet, domain, { jobId: o.job ?? jobId, step: o.signedStep ?? step, expiry: Number(expiry) });
        const headers: Record<string, string> = o.unsigned
          ? {}
          : { [STATE_REQUEST_HEADERS.expiry]: String(expiry), [STATE_REQUEST_HEADERS.signature]: sig };
        const res = await fetch(`${base}${statePath(o.job ?? jobId, step)}`, { headers });
        return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
      };
      const ok = await ask(accountKey(JUROR_ACCOUNT(0)));
      expect(ok.status).to.equal(200);
      expect(sha256Hex(ok.body)).to.equal(inner.sha256);
      expect((await ask(accountKey(JUROR_ACCOUNT(0)), { unsigned: true })).status).to.equal(401);
      expect((await ask(accountKey(JUROR_ACCOUNT(0)), { expiry: now - 5n })).status).to.equal(401);
      expect((await ask(accountKey(JUROR_ACCOUNT(0)), { signedStep: bad })).status).to.equal(403); // wrong signer recovered
      const stranger = await ask(accountKey(JUROR_ACCOUNT(1)));
      expect(stranger.status).to.equal(403);
      expect(String(stranger.body)).to.match(/not an assigned auditor, challenger or drawn juror/);
      expect((await ask(accountKey(JUROR_ACCOUNT(0)), { job: jobId + 100n })).status).to.equal(404);
    } finally {
      miner.stop();
      for (const r of running.splice(0)) await stop(r);
      await requester.close();
    }
  });
});
