/**
 * V8.1–V8.2 in the verifier: the spec loader derives a job's cost from its graph under the cost
 * model and refuses it (InvalidSpec, or above this node's caps) after fetching only the manifest and
 * the graph — no dataset list, batch or state — and before any step runs. A real store served over
 * HTTP, real manifests from the requester's code; only the fetches are recorded.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { ArtifactClient } from "../../../verifier/daemon/check/artifacts";
import { ManifestSpecLoader, type OnChainJobTerms } from "../../../verifier/daemon/check/spec";
import { InvalidSpecError, JobAboveCapsError, JobRefusedError } from "../../../verifier/daemon/errors";
import {
  COST_MODEL,
  CostModelMismatchError,
  StepCostUnderivableError,
  StepCostUnderstatedError,
  deriveStepCost,
} from "../../../verifier/engine/costModel";
import { canonicalManifestBytes, specHash, type JobManifest } from "../../../verifier/engine/manifest";
import { artifactUri } from "../../../verifier/protocol/jobArtifacts";
import { prepareMnistJob, type PreparedJob } from "../../../verifier/requester/createJob";
import { LocalStore, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { withHiddenWork } from "../../helpers/costAttacks";

/** A real client that also notes what it was asked to fetch (every fetch, state files included, goes through `fetch`). */
class RecordingClient extends ArtifactClient {
  readonly asked: string[] = [];
  override fetch(...a: Parameters<ArtifactClient["fetch"]>): ReturnType<ArtifactClient["fetch"]> {
    this.asked.push(a[2]);
    return super.fetch(...a);
  }
}

describe("verifier daemon: work is bounded before anything runs (V8.1-V8.2)", function () {
  this.timeout(120_000);
  let tmp: string;
  let store: LocalStore;
  let server: StoreServerHandle;
  let job: PreparedJob;
  let client: RecordingClient;
  let nextJobId = 1n;

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-bound-"));
    store = await LocalStore.open(path.join(tmp, "served"));
    server = await startStoreServer({ store });
    job = await prepareMnistJob({
      store,
      publicBaseUrl: server.url,
      totalSteps: 4,
      checkpointInterval: 2,
      batchSize: 16,
      numBatches: 4,
      seed: `0x${"cd".repeat(32)}`,
    });
  });
  beforeEach(async function () {
    client = new RecordingClient({
      store: await LocalStore.open(path.join(tmp, `cache-${nextJobId}`)),
      logger: pino({ level: "silent" }),
      retries: 0,
      timeoutMs: 5_000,
      urlPolicy: { allowPrivate: true },
    });
  });
  after(async function () {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** Posts a variant of the prepared job (its own graph and/or manifest fields) and returns its on-chain terms. */
  async function post(
    change: { graph?: Uint8Array; manifest?: (m: Record<string, unknown>) => void; chain?: Partial<OnChainJobTerms> } = {},
  ): Promise<OnChainJobTerms> {
    const m = JSON.parse(JSON.stringify(job.manifest)) as Record<string, unknown>;
    if (change.graph) {
      const sha = await store.put(change.graph);
      m.graph = { sha256: `0x${sha}`, uri: artifactUri(server.url, sha) };
    }
    change.manifest?.(m);
    const manifest = m as unknown as JobManifest;
    const sha = await store.put(canonicalManifestBytes(manifest));
    return {
      jobId: nextJobId++,
      specHash: specHash(manifest),
      specURI: artifactUri(server.url, sha),
      dataRoot: job.dataRoot,
      initialStateHash: job.initialStateHash,
      totalSteps: 4n,
      checkpointInterval: 2n,
      numBatches: 4n,
      flopsPerStep: BigInt(manifest.flopsPerStep),
      stateBytes: BigInt(manifest.stateBytes),
      ...change.chain,
    };
  }

  async function refusal(loader: ManifestSpecLoader, terms: OnChainJobTerms): Promise<JobRefusedError> {
    const err = await loader.load(terms).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(JobRefusedError);
    // Nothing but the manifest and the graph was fetched: no dataset list, batch or state.
    expect(client.asked).to.deep.equal(["manifest", "step graph"]);
    return err as JobRefusedError;
  }

  it("loads an honest job (cost model named by the requester) with a step budget from the declared FLOPs", async function () {
    expect(job.manifest.costModel).to.deep.equal(COST_MODEL);
    const spec = await new ManifestSpecLoader(client).load(await post());
    expect(spec.stepBudget.flopsPerStep).to.equal(job.flopsPerStep);
    expect(job.flopsPerStep).to.equal(deriveStepCost(spec.graph, 16).flopsPerStep);
    expect(client.asked).to.deep.equal(["manifest", "step graph", "dataset list"]);
  });

  it("budgets steps from the smaller declaration, clamped to the cap when overstated", async function () {
    const over = await post({ manifest: (m) => (m.flopsPerStep = "1000000000000000000"), chain: { flopsPerStep: 10n ** 17n } });
    expect((await new ManifestSpecLoader(client).load(over)).stepBudget.flopsPerStep).to.equal(10n ** 13n);
    const spec = await new ManifestSpecLoader(client, { maxFlopsPerStep: 10n ** 16n }).load(over);
    expect(spec.stepBudget.flopsPerStep).to.equal(10n ** 16n);
    const chainLower = await post({
      manifest: (m) => (m.flopsPerStep = String(job.flopsPerStep * 3n)),
      chain: { flopsPerStep: job.flopsPerStep * 2n },
    });
    expect((await new ManifestSpecLoader(client).load(chainLower)).stepBudget.flopsPerStep).to.equal(job.flopsPerStep * 2n);
  });

  it("reads a manifest written before the costModel field under upow.cost/1", async function () {
    const spec = await new ManifestSpecLoader(client).load(await post({ manifest: (m) => delete m.costModel }));
    expect(spec.manifest.costModel).to.equal(undefined);
  });

  for (const kind of ["expand", "constantOfShape"] as const) {
    it(`rules a ${kind} blow-up behind the honest graph's declared FLOPs InvalidSpec without running or fetching state`, async function () {
      const graph = withHiddenWork(await store.get(job.manifest.graph.sha256.slice(2)), kind, 100_000);
      const err = await refusal(new ManifestSpecLoader(client), await post({ graph }));
      expect(err).to.be.instanceOf(InvalidSpecError);
      expect(err.cause).to.be.instanceOf(StepCostUnderstatedError);
      expect(err.shortMessage).to.match(/manifest declares flopsPerStep \d+, the cost model derives \d+/);
    });
  }

  it("rules a Tile blow-up InvalidSpec (no shape rule)", async function () {
    const graph = withHiddenWork(await store.get(job.manifest.graph.sha256.slice(2)), "tile", 100_000);
    const err = await refusal(new ManifestSpecLoader(client), await post({ graph }));
    expect(err).to.be.instanceOf(InvalidSpecError);
    expect(err.cause).to.be.instanceOf(StepCostUnderivableError);
  });

  it("rules an on-chain flopsPerStep below the derivation InvalidSpec even when the manifest is honest", async function () {
    const err = await refusal(new ManifestSpecLoader(client), await post({ chain: { flopsPerStep: job.flopsPerStep - 1n } }));
    expect(err).to.be.instanceOf(InvalidSpecError);
    expect(err.shortMessage).to.match(/on-chain job declares flopsPerStep/);
  });

  it("rules an understated stateBytes InvalidSpec", async function () {
    const terms = await post({ manifest: (m) => (m.stateBytes = "100"), chain: { stateBytes: 100n } });
    const err = await refusal(new ManifestSpecLoader(client), terms);
    expect(err.shortMessage).to.match(/declares stateBytes 100/);
  });

  it("rules a manifest naming another cost model InvalidSpec", async function () {
    const err = await refusal(
      new ManifestSpecLoader(client),
      await post({ manifest: (m) => (m.costModel = { version: "upow.cost/2", hash: COST_MODEL.hash }) }),
    );
    expect(err).to.be.instanceOf(InvalidSpecError);
    expect(err.cause).to.be.instanceOf(CostModelMismatchError);
  });

  it("refuses an honestly declared job above this node's caps (not InvalidSpec)", async function () {
    const terms = await post();
    const err = await refusal(new ManifestSpecLoader(client, { maxFlopsPerStep: job.flopsPerStep - 1n }), terms);
    expect(err).to.be.instanceOf(JobAboveCapsError);
    expect(err).not.to.be.instanceOf(InvalidSpecError);
    client.asked.length = 0;
    const byMemory = await new ManifestSpecLoader(client, { maxPeakBytes: 1000n }).load(terms).then(
      () => null,
      (e: unknown) => e,
    );
    expect(byMemory).to.be.instanceOf(JobAboveCapsError);
    expect((byMemory as JobAboveCapsError).shortMessage).to.match(/memory/);
  });

  it("keeps a refusal: asked again, it fetches nothing and refuses the same way", async function () {
    const graph = withHiddenWork(await store.get(job.manifest.graph.sha256.slice(2)), "expand", 100_000);
    const loader = new ManifestSpecLoader(client);
    const terms = await post({ graph });
    const first = await refusal(loader, terms);
    const second = await loader.load(terms).then(
      () => null,
      (e: unknown) => e,
    );
    expect(second).to.equal(first);
    expect(client.asked).to.deep.equal(["manifest", "step graph"]);
  });
});
