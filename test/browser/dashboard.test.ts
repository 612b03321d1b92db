/**
 * The dashboard in headless Chromium against the in-process Hardhat network: a real dispute
 * (direct contract calls: opened, pinpointed, a drawn committee votes WorkerFault, ruled, closed
 * with a conviction), a second one left in Voting, and then, with the page already open, a real honest MNIST job trained by the
 * worker daemon (onnxruntime) and paid, which the page must follow live (Server-Sent Events, no
 * reload). One chain history serves every assertion; screenshots (dark and light) go to
 * test-output/dashboard/. Run with `npm run test:browser` (scripts/setup-chromium.sh first).
 */
import { expect } from "chai";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre, { ethers, network } from "hardhat";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import pino from "pino";
import type { Browser, Page } from "playwright-core";
import { formatAmount } from "../../verifier/chain/format";
import { connectDeployment } from "../../verifier/chain/registry";
import { createProvider, type Eip1193Provider, type UPowProvider } from "../../verifier/chain/rpc";
import { startDashboard, type RunningDashboard } from "../../verifier/dashboard/start";
import { batchTensors, loadMnistDigits, mnistSplit } from "../../verifier/engine/data";
import { evaluateMlp } from "../../verifier/engine/evaluate";
import { readSafetensors } from "../../verifier/engine/safetensors";
import { JobStatus, Ruling } from "../../verifier/protocol/enums";
import { parseResultIndex } from "../../verifier/protocol/resultIndex";
import { createJob, DEFAULT_MODEL, prepareMnistJob } from "../../verifier/requester/createJob";
import { LocalStore, startStoreServer, type StoreServerHandle } from "../../verifier/store";
import { workerConfig } from "../../verifier/worker/config";
import { runWorker } from "../../verifier/worker/service";
import { deploymentOf } from "../helpers/deployment";
import {
  deploySystem,
  drawCommittee,
  E18,
  openDispute,
  pinpoint,
  SALT,
  submittedJob,
  vote,
  voteCommitment,
  type System,
} from "../helpers/system";
import { chromiumExecutable, launchChromium } from "./chromium";

const OUT = path.join(__dirname, "..", "..", "test-output", "dashboard");
const SEED = ethers.id("dashboard-browser-test");
const T = 8;
const K = 4;

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("dashboard in headless Chromium (in-process network, real job and dispute)", function () {
  this.timeout(300_000);
  const logger = pino({ level: process.env.DASHBOARD_TEST_LOG ?? "silent" });
  let tmp = "";
  let sys: System;
  let provider: UPowProvider;
  let store: StoreServerHandle | undefined;
  let worker: { ac: AbortController; done: Promise<void> } | undefined;
  let dash: RunningDashboard | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let honestJob: bigint;
  let disputedJob: bigint;
  let disputeId: bigint;
  let jurorCount: number;
  let openJob: bigint;
  /** Console errors and uncaught exceptions of the page (a CSP refusal shows here). */
  const pageErrors: string[] = [];
  let votingDispute: bigint;
  let votingSeats: System["jurors"];

  before(async function () {
    const found = chromiumExecutable();
    if ("skip" in found) {
      this.skip();
      return;
    }
    // First, so a Chromium that is there but broken fails the suite before any chain work.
    browser = await launchChromium(found.path);
    tmp = await mkdtemp(path.join(tmpdir(), "upow-dashboard-"));
    await mkdir(OUT, { recursive: true });
    sys = await deploySystem();

    // The dispute, before any daemon runs (the test signs as the worker too): WorkerFault, closed.
    disputedJob = await submittedJob(sys);
    disputeId = await openDispute(sys, disputedJob, 1);
    await pinpoint(sys, disputeId, 0);
    // distinct: false never rewinds the chain (a snapshot restore would unwind blocks the dashboard saw).
    const seats = await drawCommittee(sys, disputeId, { distinct: false });
    jurorCount = new Set(seats.map((s) => s.address)).size;
    await vote(
      sys,
      disputeId,
      seats,
      seats.map(() => Ruling.WorkerFault),
    );
    await sys.disputeManager.resolve(disputeId);
    await time.increaseTo((await sys.disputeManager.getDispute(disputeId)).appealEnd + 1n);
    await sys.disputeManager.finalizeRuling(disputeId);
    // A second dispute left in Voting: one juror has committed, none revealed; its job's collateral
    // and the jurors' seats stay locked.
    openJob = await submittedJob(sys);
    votingDispute = await openDispute(sys, openJob, 1);
    await pinpoint(sys, votingDispute, 0);
    votingSeats = await drawCommittee(sys, votingDispute, { distinct: false });
    const first = votingSeats[0]!;
    await sys.disputeManager
      .connect(first)
      .commitVote(votingDispute, voteCommitment(votingDispute, 0, first.address, Ruling.WorkerFault, SALT));

    // The worker daemon (hardhat account #2 is the fixture's worker) with its metrics server.
    const reqStore = await LocalStore.open(path.join(tmp, "requester-store"));
    store = await startStoreServer({ store: reqStore });
    let metricsUrl = "";
    const cfg = workerConfig({
      eip1193: network.provider as unknown as Eip1193Provider,
      env: {
        UPOW_PRIVATE_KEY: ethers.HDNodeWallet.fromPhrase(
          "test test test test test test test test test test test junk",
          undefined,
          "m/44'/60'/0'/0/2",
        ).privateKey,
      },
      dataDir: path.join(tmp, "worker"),
      jobMarket: await sys.jobMarket.getAddress(),
      stakeManager: await sys.stakeManager.getAddress(),
      disputeManager: await sys.disputeManager.getAddress(),
      acceptedTokens: [{ address: await sys.payToken.getAddress(), minRewardPerTflop: 0n }],
      confirmations: 0,
      pollIntervalMs: 50,
      startBlock: await ethers.provider.getBlockNumber(),
      logLevel: "silent",
      allowPrivateArtifacts: true,
      metricsPort: 0,
    });
    const ac = new AbortController();
    worker = { ac, done: runWorker(cfg, { signal: ac.signal, logger, onMetricsServer: (u) => (metricsUrl = u) }) };
    await waitFor("worker metrics server", async () => metricsUrl !== "");

    // The dashboard, and the page open before the honest job exists: what follows arrives live.
    const deployment = await deploymentOf(sys, Number((await hre.ethers.provider.getNetwork()).chainId));
    provider = createProvider({ eip1193: hre.network.provider, logger, pollingIntervalMs: 50 });
    dash = await startDashboard({
      provider,
      deployment,
      contracts: connectDeployment(deployment, provider),
      logger,
      metricsUrls: [metricsUrl],
      cacheDir: path.join(tmp, "dashboard-cache"),
      allowPrivateArtifacts: true,
      pollIntervalMs: 200,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, colorScheme: "dark" });
    page.on("console", (m) => void (m.type() === "error" && pageErrors.push(m.text())));
    page.on("pageerror", (e) => void pageErrors.push(String(e)));
    await page.goto(dash.url);
    await page.waitForSelector(`[data-testid=dispute-${disputeId}]`);
    await page.evaluate(() => ((globalThis as unknown as { loadedOnce: number }).loadedOnce = 1));

    // The honest job: posted, claimed, trained, submitted, its window passed, paid.
    const job = await prepareMnistJob({
      store: reqStore,
      publicBaseUrl: store.url,
      totalSteps: T,
      checkpointInterval: K,
      batchSize: 16,
      numBatches: 4,
      seed: SEED,
    });
    ({ jobId: honestJob } = await createJob({
      jobMarket: sys.jobMarket.connect(sys.requester),
      job,
      paymentToken: sys.payToken.connect(sys.requester),
      reward: 100n * E18,
      verificationFee: 10n * E18,
      claimDeadline: BigInt(await time.latest()) + 86_400n,
      trainingDuration: 3_600n,
    }));
    await waitFor("submission", async () => Number((await sys.jobMarket.getJob(honestJob)).status) === JobStatus.Submitted);
    await time.increaseTo((await sys.jobMarket.getJob(honestJob)).windowEnd + 1n);
    await mine(1);
    await waitFor("finalization", async () => Number((await sys.jobMarket.getJob(honestJob)).status) === JobStatus.Finalized);
  });

  after(async function () {
    await browser?.close();
    await dash?.close();
    provider?.destroy();
    if (worker) {
      worker.ac.abort();
      await worker.done;
    }
    await store?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const text = async (selector: string): Promise<string> => (await page.locator(selector).first().textContent()) ?? "";
  /** Waits until the first element `selector` matches reads `want` (the page updates itself). */
  const until = async (selector: string, want: string, timeout = 60_000): Promise<void> => {
    // Runs in the page (a function: the page's CSP forbids eval). This file is type-checked without
    // the DOM library, hence the narrow view of `document`.
    await page.waitForFunction(
      ([sel, text]) => {
        const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
        return doc.querySelector(sel)?.textContent === text;
      },
      [selector, want] as const,
      { timeout },
    );
  };
  const stages = (selector: string): Promise<string[]> =>
    page.locator(`${selector} li`).evaluateAll((lis) => lis.map((li) => li.getAttribute("data-stage") ?? ""));

  it("follows the honest job live to Finalized, with its timeline in order", async function () {
    const card = `[data-testid=job-${honestJob}]`;
    await until(`${card} [data-testid=job-status]`, "Finalized");
    const s = await stages(`${card} [data-testid=job-timeline]`);
    const order = ["created", "claimed", "submitted", "finalized"].map((x) => s.indexOf(x));
    expect(
      order.every((i) => i >= 0),
      s.join(" → "),
    ).to.equal(true);
    expect([...order].sort((a, b) => a - b)).to.deep.equal(order);
    // Never reloaded: the updates came over the event stream.
    expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: number }).loadedOnce)).to.equal(1);
    expect(await text("[data-testid=live]")).to.equal("live");
  });

  it("draws the loss curve with one point per checkpoint and the final state's test accuracy", async function () {
    const card = `[data-testid=job-${honestJob}]`;
    const chart = page.locator(`${card} [data-testid=loss-chart]`);
    await chart.waitFor({ timeout: 60_000 });
    expect(await chart.getAttribute("data-points")).to.equal(String(T / K + 1));
    expect(await chart.locator("canvas").count()).to.be.greaterThan(0);
    // The accuracy shown is the committed final state's, evaluated here independently.
    const [ev] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(honestJob));
    const index = parseResultIndex(Buffer.from(await (await fetch(ev!.args.resultURI)).arrayBuffer()));
    const last = index.checkpoints[index.checkpoints.length - 1]!;
    const state = readSafetensors(
      new Uint8Array(await (await fetch(`${index.artifactBaseUrls[0]}/artifacts/${last.sha256}`)).arrayBuffer()),
    );
    const digits = loadMnistDigits();
    const want = evaluateMlp(DEFAULT_MODEL, state, batchTensors(digits, mnistSplit(SEED, digits.count, 1000).test));
    expect(await text(`${card} [data-testid=test-accuracy]`)).to.equal(`${(want.accuracy * 100).toFixed(1)}%`);
  });

  it("shows the dispute's phases through the ruling to Closed, with the committee's votes", async function () {
    const card = `[data-testid=dispute-${disputeId}]`;
    expect(await text(`${card} [data-testid=dispute-phase]`)).to.equal("Closed");
    expect(await text(`${card} [data-testid=dispute-ruling]`)).to.equal("WorkerFault");
    expect(await stages(`${card} [data-testid=dispute-timeline]`)).to.deep.equal([
      "Pinpointing",
      "AwaitingDraw",
      "Voting",
      "Ruled",
      "WorkerConvicted",
      "Closed",
    ]);
    const votes = page.locator(`${card} [data-testid=round-0] [data-testid=vote]`);
    expect(await votes.count()).to.equal(jurorCount);
    expect(await votes.locator("td:nth-child(4)").allTextContents()).to.deep.equal(Array(jurorCount).fill("WorkerFault"));
    // The disputed job: submitted, disputed, rejected by the conviction; no loss curve (its result URI is not a store's).
    const job = `[data-testid=job-${disputedJob}]`;
    expect(await text(`${job} [data-testid=job-status]`)).to.equal("Rejected");
    expect(await stages(`${job} [data-testid=job-timeline]`)).to.include.members(["disputed", "rejected"]);
    expect(await text(`${job} [data-testid=result-error]`)).to.match(/no loss curve/);
  });

  it("shows an open dispute's deadlines and who has committed and revealed so far", async function () {
    const card = `[data-testid=dispute-${votingDispute}]`;
    expect(await text(`${card} [data-testid=dispute-phase]`)).to.equal("Voting");
    expect(await page.locator(`${card} [data-testid=dispute-ruling]`).count()).to.equal(0);
    const [commitEnd, revealEnd] = await sys.disputeManager.votingWindows(votingDispute);
    const deadlines = await page
      .locator(`${card} [data-testid=deadlines] li`)
      .evaluateAll((lis) => lis.map((li) => [li.getAttribute("data-at"), li.textContent]));
    expect(deadlines.map(([at]) => at)).to.deep.equal([commitEnd.toString(), revealEnd.toString()]);
    expect(deadlines[0]![1]).to.match(/^commit votes by /);
    expect(deadlines[1]![1]).to.match(/^reveal votes by /);
    const rows = await page
      .locator(`${card} [data-testid=round-0] [data-testid=vote]`)
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].slice(1).map((td) => td.textContent)));
    const distinct = [...new Set(votingSeats.map((x) => x.address))];
    expect(rows).to.deep.equal(distinct.map((_, i) => (i === 0 ? ["✓", "·", "—"] : ["·", "·", "—"])));
  });

  it("shows each account's stake and credits as the contracts hold them", async function () {
    const staking = { symbol: await sys.stakeToken.symbol(), decimals: Number(await sys.stakeToken.decimals()) };
    const row = (a: string): string => `[data-testid=account][data-address="${a}"]`;
    await until(
      `${row(sys.worker.address)} td:nth-child(3)`,
      formatAmount((await sys.stakeManager.account(sys.worker.address)).free, staking),
    );
    expect(await text(`${row(sys.worker.address)} td:nth-child(2)`)).to.include("worker");
    // The disputed job's collateral is still locked, and named.
    const lockId = await sys.jobMarket.collateralLockId(openJob);
    const locked = formatAmount(await sys.stakeManager.lockedAmount(sys.worker.address, lockId), staking);
    expect(await text(`${row(sys.worker.address)} [data-testid=locks]`)).to.include(`job ${openJob} collateral: ${locked}`);
    // The challenger won: its bonds and share of the slash wait in the dispute ledger.
    const credit = formatAmount(await sys.disputeManager.credits(sys.challenger.address), staking);
    expect(await text(`${row(sys.challenger.address)} [data-testid=credits]`)).to.include(`dispute: ${credit}`);
  });

  it("shows the worker daemon healthy, with the counters of its /metrics", async function () {
    await until("[data-testid=daemon-jobs]", "1 / 1");
    expect(await text("[data-testid=daemon] [data-testid=daemon-state]")).to.equal("healthy");
    expect(await text("[data-testid=daemon] td:nth-child(2)")).to.equal("worker");
  });

  it("logs no error in the page (scripts, styles and the event stream all allowed by its CSP)", function () {
    expect(pageErrors).to.deep.equal([]);
  });

  it("switches between dark and light (screenshots of both)", async function () {
    // Page functions (serialized into the page: they may use nothing of this file).
    type Win = {
      document: { body: object; documentElement: { dataset: { theme?: string } } };
      getComputedStyle(e: object): { backgroundColor: string };
    };
    const background = (): Promise<string> =>
      page.evaluate(() => {
        const w = globalThis as unknown as Win;
        return w.getComputedStyle(w.document.body).backgroundColor;
      });
    const theme = (): Promise<string | undefined> =>
      page.evaluate(() => (globalThis as unknown as Win).document.documentElement.dataset.theme);
    expect(await theme()).to.equal("dark");
    const dark = await background();
    await page.screenshot({ path: path.join(OUT, "dashboard-dark.png"), fullPage: true });
    // docs/dashboard.md's picture (docs/img/dashboard.png): a wide page at 3/4 scale, so daemons,
    // jobs and disputes fit in one image of under 200 KB.
    const wide = await browser!.newPage({ viewport: { width: 1600, height: 1320 }, deviceScaleFactor: 0.75, colorScheme: "dark" });
    try {
      await wide.goto(dash!.url);
      await wide.locator(`[data-testid=job-${honestJob}] [data-testid=loss-chart] canvas`).first().waitFor();
      await wide.screenshot({ path: path.join(OUT, "dashboard-docs.png") });
    } finally {
      await wide.close();
    }
    await page.click("[data-testid=theme-toggle]");
    expect(await theme()).to.equal("light");
    expect(await background()).to.not.equal(dark);
    await page.screenshot({ path: path.join(OUT, "dashboard-light.png"), fullPage: true });
    // The choice is kept across a reload, over the system's dark preference.
    await page.reload();
    await page.waitForSelector(`[data-testid=job-${honestJob}]`);
    expect(await theme()).to.equal("light");
  });
});
