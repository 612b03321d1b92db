/**
 * The requester's spec check before createJob (issue 15 item 8: an invalid manifest URI was
 * accepted and the job stayed Open silently). Real artifacts served over HTTP, the real contracts:
 * every refusal happens before any transaction (the requester's nonce does not move).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { canonicalManifestBytes, specHash as specHashOf, type JobManifest } from "../../../verifier/engine/manifest";
import { artifactUri } from "../../../verifier/protocol/jobArtifacts";
import { createJob, JobSpecInvalidError, prepareMnistJob, type PreparedJob } from "../../../verifier/requester/createJob";
import { validateJobSpec } from "../../../verifier/requester/validateJob";
import { LocalStore, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { deploySystem, E18, type System } from "../../helpers/system";

type Writable<T> = { -readonly [K in keyof T]: Writable<T[K]> };

function termsOf(job: PreparedJob) {
  const m = job.manifest;
  return {
    specHash: job.specHash,
    specURI: job.specURI,
    dataRoot: job.dataRoot,
    initialStateHash: job.initialStateHash,
    totalSteps: m.totalSteps,
    checkpointInterval: m.checkpointInterval,
    numBatches: m.data.numBatches,
    flopsPerStep: m.flopsPerStep,
    stateBytes: m.stateBytes,
  };
}

describe("requester: the job's spec is checked before createJob", function () {
  let dir: string;
  let store: LocalStore;
  let server: StoreServerHandle;
  let honest: PreparedJob;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "upow-validate-"));
    store = await LocalStore.open(path.join(dir, "store"));
    server = await startStoreServer({ store });
    honest = await prepareMnistJob({
      store,
      publicBaseUrl: server.url,
      totalSteps: 4,
      checkpointInterval: 2,
      batchSize: 16,
      numBatches: 4,
      seed: ethers.id("validate") as `0x${string}`,
    });
  });

  after(async function () {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(sys: System, job: PreparedJob) {
    return createJob({
      jobMarket: sys.jobMarket.connect(sys.requester),
      job,
      paymentToken: sys.payToken.connect(sys.requester),
      reward: 100n * E18,
      verificationFee: 10n * E18,
      claimDeadline: BigInt(await time.latest()) + 86_400n,
      trainingDuration: 36_000n,
    });
  }

  /** The same job with a manifest changed by `mutate`, stored and addressed (a well-formed lie). */
  async function withManifest(mutate: (m: Writable<JobManifest>) => void, bytes?: Buffer): Promise<PreparedJob> {
    const w = structuredClone(honest.manifest) as Writable<JobManifest>;
    mutate(w);
    const m = w as JobManifest;
    const b = bytes ?? canonicalManifestBytes(m);
    const sha = await store.put(b);
    return {
      ...honest,
      manifest: m,
      manifestBytes: b,
      specHash: bytes ? (`0x${sha}` as `0x${string}`) : specHashOf(m),
      specURI: artifactUri(server.url, sha),
    };
  }

  /** createJob must refuse with JobSpecInvalidError about `what`, and send nothing. */
  async function refused(job: PreparedJob, what: JobSpecInvalidError["what"], pattern: RegExp): Promise<void> {
    const sys = await loadFixture(deploySystem);
    const nonce = await ethers.provider.getTransactionCount(sys.requester.address);
    const next = await sys.jobMarket.nextJobId();
    try {
      await post(sys, job);
      expect.fail("createJob should have refused the spec");
    } catch (e) {
      expect(e, String(e)).to.be.instanceOf(JobSpecInvalidError);
      expect((e as JobSpecInvalidError).what).to.equal(what);
      expect((e as Error).message).to.match(pattern);
    }
    expect(await ethers.provider.getTransactionCount(sys.requester.address), "no transaction sent").to.equal(nonce);
    expect(await sys.jobMarket.nextJobId()).to.equal(next);
  }

  it("posts an honest job (the check passes, then approve and createJob)", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await post(sys, honest);
    expect((await sys.jobMarket.getJob(jobId)).specHash).to.equal(honest.specHash);
  });

  it("refuses a specURI that is not an artifact URI", async function () {
    await refused({ ...honest, specURI: "ipfs://spec" }, "manifest", /manifest URI is not <base>\/artifacts\/<sha256>/);
  });

  it("refuses a specURI nothing serves", async function () {
    const sha = honest.specHash.slice(2);
    await refused({ ...honest, specURI: `http://127.0.0.1:9/artifacts/${sha}` }, "manifest", /manifest could not be fetched/);
  });

  it("refuses a manifest whose bytes do not hash to the committed specHash", async function () {
    await refused({ ...honest, specHash: ethers.id("another spec") as `0x${string}` }, "manifest", /manifest is unusable/);
  });

  it("refuses bytes that are not a manifest (malformed), even when they hash right", async function () {
    await refused(await withManifest(() => undefined, Buffer.from('{"version": "nope"')), "manifest", /manifest is unusable/);
  });

  it("refuses terms that disagree with the manifest (totalSteps about to go on chain vs the served manifest)", async function () {
    await refused(
      { ...honest, manifest: { ...honest.manifest, totalSteps: "6" } },
      "terms",
      /manifest disagrees with the on-chain job.*totalSteps/,
    );
  });

  it("refuses a declared flopsPerStep below what shape inference derives from the graph (bad shapes)", async function () {
    await refused(await withManifest((m) => (m.flopsPerStep = "1000")), "graph", /invalid spec:.*flopsPerStep/);
  });

  it("refuses an initial state that is not served", async function () {
    await refused(
      await withManifest((m) => (m.initialState.uri = artifactUri(server.url, "0".repeat(64)))),
      "initial state",
      /initial state could not be fetched/,
    );
  });

  it("refuses private artifact addresses unless allowed (verifiers refuse them by default)", async function () {
    try {
      await validateJobSpec({ terms: termsOf(honest), allowPrivateArtifacts: false });
      expect.fail("127.0.0.1 is a private address");
    } catch (e) {
      expect(e).to.be.instanceOf(JobSpecInvalidError);
      expect((e as Error).message, String(e)).to.match(/loopback/);
    }
    await validateJobSpec({ terms: termsOf(honest), allowPrivateArtifacts: true });
  });
});
