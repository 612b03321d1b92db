/**
 * The SDK against the in-process Hardhat network, with the real worker daemon training on
 * onnxruntime: createJob (options checked, artifacts served, escrowed), watchJob's events,
 * getResult before and after finalization (verified index and states, loss curve, test accuracy)
 * and downloadModel (weights + inference graph that onnxruntime runs).
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre, { ethers, network } from "hardhat";
import { BrowserProvider, Wallet } from "ethers";
import { hardhatAccountKey } from "../../scripts/lib/demo/accounts";
import { loadFixture, mine, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import pino from "pino";
import type { Eip1193Provider } from "../../verifier/chain/rpc";
import { DEPLOYMENT_FORMAT, type Deployment, type DeployedContract } from "../../verifier/chain/registry";
import { workerConfig } from "../../verifier/worker/config";
import { runWorker } from "../../verifier/worker/service";
import { JobStatus } from "../../verifier/protocol/enums";
import {
  createJob,
  downloadModel,
  evaluateModel,
  getResult,
  JobNotFinalError,
  JobNotFoundError,
  mnistTestSet,
  openArtifactStore,
  ResultArtifactError,
  readSafetensors,
  s3ArtifactStore,
  SdkInputError,
  serveArtifacts,
  waitForFinal,
  watchJob,
  fileHashOfSync,
  type ArtifactServer,
  type CreateJobOptions,
  type JobEvent,
} from "../../verifier/sdk";
import { deploySystem, E18, type System } from "../helpers/system";
import { S3RVER_CREDENTIALS, startLocalS3 } from "../helpers/s3";

const SEED = ethers.id("sdk-test-seed");

/** The fixture's contracts as a deployment registry entry (addresses are all the SDK reads). */
async function deploymentOf(sys: System): Promise<Deployment> {
  const entry = async (contractName: string, c: { getAddress(): Promise<string> }): Promise<DeployedContract> => ({
    contractName,
    address: await c.getAddress(),
    blockNumber: 0,
    txHash: null,
    abi: [],
  });
  return {
    format: DEPLOYMENT_FORMAT,
    network: "hardhat",
    chainId: 31337,
    deployer: sys.admin.address,
    gitCommit: "test",
    deployedAt: new Date(0).toISOString(),
    params: {},
    contracts: {
      StakingToken: await entry("TestToken", sys.stakeToken),
      PaymentToken: await entry("TestToken", sys.payToken),
      StakeManager: await entry("StakeManager", sys.stakeManager),
      Randomness: await entry("BlockhashRandomness", sys.randomness),
      JobMarket: await entry("JobMarket", sys.jobMarket),
      CanaryRegistry: await entry("CanaryRegistry", sys.canaryRegistry),
      AuditManager: await entry("AuditManager", sys.auditManager),
      DisputeManager: await entry("DisputeManager", sys.disputeManager),
      DataAvailability: await entry("DataAvailability", sys.dataAvailability),
      DisputeLogic: await entry("DisputeLogic", sys.disputeManager),
      DisputeJury: await entry("DisputeJury", sys.disputeManager),
      DisputeQueue: await entry("DisputeQueue", sys.disputeManager),
      DisputeEvidence: await entry("DisputeEvidence", sys.disputeManager),
    },
  };
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("SDK (in-process Hardhat network, real worker)", function () {
  this.timeout(240_000);
  let tmp: string;
  let server: ArtifactServer;
  let sys: System;
  let deployment: Deployment;

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-sdk-test-"));
    server = await serveArtifacts({ dir: path.join(tmp, "requester-store") });
    sys = await loadFixture(deploySystem);
    deployment = await deploymentOf(sys);
  });

  after(async function () {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  function options(over: Partial<CreateJobOptions["job"]> = {}): CreateJobOptions {
    return {
      signer: sys.requester,
      deployment,
      store: server.store,
      publicBaseUrl: server.url,
      reward: 100n * E18,
      verificationFee: 10n * E18,
      trainingDuration: 3_600n,
      job: { totalSteps: 40, checkpointInterval: 10, batchSize: 32, numBatches: 8, seed: SEED, hyperparameters: { lr: 0.3 }, ...over },
    };
  }

  describe("createJob refuses bad options before any work, naming the option", function () {
    const cases: [string, (o: CreateJobOptions) => CreateJobOptions, string, RegExp][] = [
      [
        "T not a multiple of k",
        (o) => ({ ...o, job: { ...o.job, totalSteps: 41 } }),
        "job.totalSteps",
        /multiple of job\.checkpointInterval/,
      ],
      ["a seed that is not bytes32", (o) => ({ ...o, job: { ...o.job, seed: "0x1234" } }), "job.seed", /32-byte hex/],
      ["a zero reward", (o) => ({ ...o, reward: 0n }), "reward", /bigint ≥ 1/],
      ["no base URL and no remote store", (o) => ({ ...o, publicBaseUrl: undefined }), "publicBaseUrl", /without a remote store/],
      ["a fractional batch size", (o) => ({ ...o, job: { ...o.job, batchSize: 1.5 } }), "job.batchSize", /positive integer/],
    ];
    for (const [what, change, field, message] of cases) {
      it(what, async function () {
        const before = await ethers.provider.getTransactionCount(sys.requester.address);
        try {
          await createJob(change(options()));
          expect.fail("createJob accepted it");
        } catch (e) {
          expect(e).to.be.instanceOf(SdkInputError);
          expect((e as SdkInputError).field).to.equal(field);
          expect((e as Error).message).to.match(message);
        }
        expect(await ethers.provider.getTransactionCount(sys.requester.address)).to.equal(before);
      });
    }
  });

  it("createJob twice at once on one account, through a provider that caches the pending count: both jobs are escrowed (sends in account order, nonces continued)", async function () {
    const account = hardhatAccountKey(hre, 25);
    // 5 s instead of ethers' 250 ms default, so that both calls always read one cached pending count.
    const provider = new BrowserProvider(hre.network.provider, undefined, { cacheTimeout: 5_000 });
    const signer = new Wallet(account.privateKey, provider);
    await sys.payToken.mint(account.address, 220n * E18);
    const before = await sys.jobMarket.nextJobId();
    const sent = await ethers.provider.getTransactionCount(account.address);
    const [a, b] = await Promise.all([
      createJob({ ...options({ seed: ethers.id("sdk-concurrent-a") }), signer }),
      createJob({ ...options({ seed: ethers.id("sdk-concurrent-b") }), signer }),
    ]);
    expect([a.jobId, b.jobId].sort()).to.deep.equal([before, before + 1n]);
    for (const created of [a, b]) {
      const job = await sys.jobMarket.getJob(created.jobId);
      expect([job.requester, job.specHash, job.status]).to.deep.equal([account.address, created.specHash, BigInt(JobStatus.Open)]);
    }
    // approve + createJob each: four sends, none reused a nonce or lost its allowance to the other's approve.
    expect(await ethers.provider.getTransactionCount(account.address)).to.equal(sent + 4);
  });

  it("createJob after the chain dropped this account's last createJob (a reorganisation; here a snapshot revert) sends at the chain's pending count, not after the dropped nonces", async function () {
    const account = hardhatAccountKey(hre, 26);
    const signer = new Wallet(account.privateKey, new BrowserProvider(hre.network.provider));
    await sys.payToken.mint(account.address, 220n * E18);
    const sent = await ethers.provider.getTransactionCount(account.address);
    const beforeDropped = await takeSnapshot();
    await createJob({ ...options({ seed: ethers.id("sdk-dropped") }), signer });
    expect(await ethers.provider.getTransactionCount(account.address)).to.equal(sent + 2);
    await beforeDropped.restore();
    // Past the provider's 250 ms call cache, which still answers with the dropped chain for that long.
    await new Promise((r) => setTimeout(r, 300));
    const created = await createJob({ ...options({ seed: ethers.id("sdk-after-drop") }), signer });
    expect((await sys.jobMarket.getJob(created.jobId)).requester).to.equal(account.address);
    expect(await ethers.provider.getTransactionCount(account.address)).to.equal(sent + 2);
  });

  it("createJob with an S3 remote (s3rver) and no publicBaseUrl: the manifest and its artifacts live in the bucket", async function () {
    const s3 = await startLocalS3();
    const remote = await s3ArtifactStore({ bucket: s3.bucket, prefix: "sdk", endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
    try {
      const created = await createJob({ ...options({ seed: ethers.id("sdk-s3") }), publicBaseUrl: undefined, remote });
      expect(created.specURI.startsWith(`${remote.publicBaseUrl}/artifacts/`), created.specURI).to.equal(true);
      expect(created.manifest.graph.uri.startsWith(remote.publicBaseUrl)).to.equal(true);
      const onChain = await sys.jobMarket.getJob(created.jobId);
      expect(onChain.specHash).to.equal(created.specHash);
      // The bucket serves the manifest's bytes (createJob's spec checks fetched them from there too).
      const body = Buffer.from(await (await fetch(created.specURI)).arrayBuffer());
      expect(`0x${createHash("sha256").update(body).digest("hex")}`).to.equal(created.specHash);
      await sys.jobMarket.connect(sys.requester).cancelJob(created.jobId);
    } finally {
      remote.close();
      await s3.close();
    }
  });

  it("creates a job the real worker trains; watchJob sees its life; getResult and downloadModel give a model that beats chance", async function () {
    const created = await createJob(options());
    expect((await sys.jobMarket.getJob(created.jobId)).specHash).to.equal(created.specHash);
    const events: JobEvent[] = [];
    const watcher = watchJob({ provider: ethers.provider, deployment, jobId: created.jobId, onEvent: (e) => events.push(e), pollMs: 50 });

    const key = ethers.HDNodeWallet.fromPhrase(
      "test test test test test test test test test test test junk",
      undefined,
      "m/44'/60'/0'/0/2",
    ).privateKey;
    const cfg = workerConfig({
      eip1193: network.provider as unknown as Eip1193Provider,
      env: { UPOW_PRIVATE_KEY: key },
      dataDir: path.join(tmp, "worker"),
      jobMarket: await sys.jobMarket.getAddress(),
      stakeManager: await sys.stakeManager.getAddress(),
      disputeManager: await sys.disputeManager.getAddress(),
      acceptedTokens: [{ address: await sys.payToken.getAddress(), minRewardPerTflop: 0n }],
      confirmations: 0,
      pollIntervalMs: 50,
      startBlock: created.blockNumber,
      logLevel: "silent",
      allowPrivateArtifacts: true,
    });
    const ac = new AbortController();
    const worker = runWorker(cfg, { signal: ac.signal, logger: pino({ level: "silent" }) });
    try {
      await waitFor("submission", async () => Number((await sys.jobMarket.getJob(created.jobId)).status) === JobStatus.Submitted);
      const opts = { provider: ethers.provider, deployment, jobId: created.jobId };
      // Before finalization the result may still be disputed: refused unless asked for.
      try {
        await getResult(opts);
        expect.fail("getResult read a Submitted job");
      } catch (e) {
        expect(e).to.be.instanceOf(JobNotFinalError);
        expect((e as JobNotFinalError).status).to.equal("Submitted");
      }
      const early = await getResult({ ...opts, allowUnfinalized: true });
      expect(early.status).to.equal("Submitted");

      const j = await sys.jobMarket.getJob(created.jobId);
      await time.increaseTo(j.windowEnd + 1n);
      await mine(1);
      expect(await waitForFinal({ ...opts, pollMs: 50, timeoutMs: 120_000 })).to.equal("Finalized");
      await watcher.stop();
      expect(events.map((e) => e.name)).to.include.ordered.members(["JobCreated", "JobClaimed", "ResultSubmitted", "JobFinalized"]);
      expect(events.every((e) => e.jobId === created.jobId)).to.equal(true);

      const r = await getResult(opts);
      const job = await sys.jobMarket.getJob(created.jobId);
      expect(r.status).to.equal("Finalized");
      expect(r.checkpointRoot).to.equal(job.checkpointRoot);
      expect(r.finalStateHash).to.equal(job.finalStateHash);
      expect(fileHashOfSync(r.finalState)).to.equal(job.finalStateHash);
      expect(r.lossCurve.map((p) => p.step)).to.deep.equal([0, 10, 20, 30, 40]);
      expect(r.testCount).to.equal(1000);
      // Trained: the held-out loss falls from the initial state's, and the final model beats chance (10 classes).
      expect(r.lossCurve[4]!.loss).to.be.lessThan(r.lossCurve[0]!.loss);
      expect(r.testAccuracy).to.be.greaterThan(0.3);
      expect(r.testAccuracy).to.equal(r.lossCurve[4]!.accuracy);

      const model = await downloadModel(opts);
      expect(model.finalStateHash).to.equal(job.finalStateHash);
      expect([...readSafetensors(model.safetensors).keys()].sort()).to.deep.equal(["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]);
      const e = await evaluateModel(model.onnx, mnistTestSet(SEED));
      expect(e.accuracy).to.equal(r.testAccuracy);

      // A state whose bytes do not hash to the committed state hash is refused, even from the reader's own cache.
      const cacheDir = path.join(tmp, "cache");
      const cache = await openArtifactStore(cacheDir);
      const last = r.index.checkpoints[r.index.checkpoints.length - 1]!;
      await mkdir(path.dirname(cache.path(last.sha256)), { recursive: true });
      await writeFile(cache.path(last.sha256), Buffer.from(r.finalState).fill(7, 200, 300));
      try {
        await downloadModel({ ...opts, cacheDir });
        expect.fail("a tampered state was used");
      } catch (err) {
        expect(err).to.be.instanceOf(ResultArtifactError);
        expect((err as ResultArtifactError).what).to.equal("state");
        expect((err as Error).message).to.match(/does not hash to its committed state hash/);
      }
      // No such job: named.
      try {
        await getResult({ ...opts, jobId: 999n });
        expect.fail("job 999 does not exist");
      } catch (err) {
        expect(err).to.be.instanceOf(JobNotFoundError);
      }
    } finally {
      await watcher.stop();
      ac.abort();
      await worker;
    }
  });
});
