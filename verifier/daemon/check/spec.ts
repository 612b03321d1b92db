/**
 * A job's spec as the checks need it: the manifest fetched from the on-chain specURI (bytes must
 * hash to the on-chain specHash), cross-checked with the on-chain terms, the step graph (sha256
 * checked), its cost under the cost model checked against the declared flopsPerStep/stateBytes and
 * this node's caps before any state or batch is fetched (v3 V8.1–V8.2), and a batch source that
 * fetches each batch by its store address and checks its hash against the manifest's data tree.
 */
import { batchOrder } from "../../engine/data";
import { checkStepCost, deriveStepCost, StepCostAboveCapError } from "../../engine/costModel";
import type { Hash } from "../../protocol/hashing";
import { manifestIntegers, parseManifest, type JobManifest, type Tolerance } from "../../engine/manifest";
import type { TensorMap } from "../../engine/tensor";
import { UPowError } from "../../errors";
import type { StepBudget } from "../../engine/processRunner";
import { InvalidSpecError, JobAboveCapsError, JobRefusedError, JobSpecError } from "../errors";
import { parseDatasetList } from "../../protocol/jobArtifacts";
import { type ArtifactClient, splitArtifactUri } from "./artifacts";

/** What the checks need to know about a job from the chain. */
export interface OnChainJobTerms {
  jobId: bigint;
  specHash: Hash;
  specURI: string;
  dataRoot: Hash;
  initialStateHash: Hash;
  totalSteps: bigint;
  checkpointInterval: bigint;
  numBatches: bigint;
  flopsPerStep: bigint;
  stateBytes: bigint;
}

export interface JobSpec {
  manifest: JobManifest;
  graph: Uint8Array;
  hp: Readonly<Record<string, number>>;
  tolerance: Tolerance;
  T: number;
  k: number;
  /** Size limit for a state file (declared stateBytes with headroom). */
  maxStateBytes: number;
  /** Time budget of each step run for this job, from the declared FLOPs (V8.3). */
  stepBudget: StepBudget;
  /** The batch global step `t` trains on, fetched and hash-checked. */
  batch(t: number): Promise<TensorMap>;
}

/** The small interface the players need: a spec per job. */
export interface JobSpecLoader {
  load(job: OnChainJobTerms): Promise<JobSpec>;
}

export interface LoadJobSpecLimits {
  /** @default 1 MiB */
  maxManifestBytes?: number;
  /** @default 64 MiB */
  maxGraphBytes?: number;
  /** @default 64 MiB */
  maxBatchBytes?: number;
  /** @default 256 MiB */
  maxStateBytes?: number;
  /** Cap on the derived FLOPs per step (V8.1). @default 10^13 */
  maxFlopsPerStep?: bigint;
  /** Cap on the derived peak-memory upper bound (V8.1). @default 8 GiB */
  maxPeakBytes?: bigint;
  /** Reference rate of step budgets (processRunner.ts). @default 1e8 FLOP/s */
  minFlopsPerSecond?: number;
  /** Base of every step budget. @default 10 s */
  stepBaseMs?: number;
}

/** Cost caps and step-budget rates a verifier uses unless its operator sets others. */
export const COST_DEFAULTS = { maxFlopsPerStep: 10n ** 13n, maxPeakBytes: 8n << 30n, minFlopsPerSecond: 1e8, stepBaseMs: 10_000 } as const;

export class ManifestSpecLoader implements JobSpecLoader {
  readonly #client: ArtifactClient;
  readonly #limits: Required<LoadJobSpecLimits>;
  readonly #cache = new Map<string, Promise<JobSpec>>();

  constructor(client: ArtifactClient, limits: LoadJobSpecLimits = {}) {
    this.#client = client;
    this.#limits = {
      maxManifestBytes: 1 << 20,
      maxGraphBytes: 64 << 20,
      maxBatchBytes: 64 << 20,
      maxStateBytes: 256 << 20,
      ...COST_DEFAULTS,
      ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    };
  }

  load(job: OnChainJobTerms): Promise<JobSpec> {
    const key = `${job.jobId}:${job.specHash}`;
    let p = this.#cache.get(key);
    if (!p) {
      p = this.#load(job);
      this.#cache.set(key, p);
      // A failure (e.g. a mirror down) may be retried later; a refusal stands.
      p.catch((e: unknown) => {
        if (!(e instanceof JobRefusedError)) this.#cache.delete(key);
      });
    }
    return p;
  }

  async #load(job: OnChainJobTerms): Promise<JobSpec> {
    const bytes = await this.#client.fetchUri(job.specURI, "manifest", this.#limits.maxManifestBytes);
    let manifest: JobManifest;
    try {
      manifest = parseManifest(bytes, { expectedSpecHash: job.specHash });
    } catch (cause) {
      throw new JobSpecError(`manifest is unusable: ${cause instanceof UPowError ? cause.shortMessage : String(cause)}`, {
        cause,
        details: { jobId: job.jobId },
      });
    }
    const ints = manifestIntegers(manifest);
    const mismatch = (field: string, chain: unknown, spec: unknown) =>
      new JobSpecError("manifest disagrees with the on-chain job", {
        details: { jobId: job.jobId, field, chain: String(chain), spec: String(spec) },
      });
    if (ints.totalSteps !== job.totalSteps) throw mismatch("totalSteps", job.totalSteps, ints.totalSteps);
    if (ints.checkpointInterval !== job.checkpointInterval)
      throw mismatch("checkpointInterval", job.checkpointInterval, ints.checkpointInterval);
    if (manifest.data.root !== job.dataRoot.toLowerCase()) throw mismatch("dataRoot", job.dataRoot, manifest.data.root);
    if (manifest.initialState.hash !== job.initialStateHash.toLowerCase())
      throw mismatch("initialStateHash", job.initialStateHash, manifest.initialState.hash);
    if (BigInt(manifest.data.numBatches) !== job.numBatches) throw mismatch("numBatches", job.numBatches, manifest.data.numBatches);

    const graph = await this.#client.fetch(manifest.graph.sha256, [manifest.graph.uri], "step graph", this.#limits.maxGraphBytes);
    this.#bound(job, manifest, graph);
    const listBytes = await this.#client.fetchUri(manifest.data.uri, "dataset list", 64 << 20);
    let list;
    try {
      list = parseDatasetList(listBytes, { dataRoot: manifest.data.root, numBatches: manifest.data.numBatches });
    } catch (cause) {
      throw new JobSpecError("dataset list is unusable", { cause, details: { jobId: job.jobId } });
    }
    const base = splitArtifactUri(manifest.data.uri)!.base;
    const maxState = Math.min(this.#limits.maxStateBytes, Number(ints.stateBytes) * 2 + 4096);
    const client = this.#client;
    const maxBatch = this.#limits.maxBatchBytes;
    return {
      manifest,
      graph,
      hp: manifest.hyperparameters,
      tolerance: manifest.tolerance,
      T: Number(ints.totalSteps),
      k: Number(ints.checkpointInterval),
      maxStateBytes: maxState,
      stepBudget: {
        // The smaller declaration, and never more than the cap: an overstated declaration (≥ the
        // derivation, so not InvalidSpec) must not buy a step days of budget.
        flopsPerStep: [ints.flopsPerStep, job.flopsPerStep, this.#limits.maxFlopsPerStep].reduce((a, b) => (a < b ? a : b)),
        minFlopsPerSecond: this.#limits.minFlopsPerSecond,
        baseMs: this.#limits.stepBaseMs,
      },
      async batch(t: number): Promise<TensorMap> {
        const i = batchOrder(manifest.seed, manifest.data.numBatches, t);
        const entry = list.batches[i]!;
        return (await client.fetchState(entry.batchHash, entry.sha256, [base], `batch ${i}`, maxBatch)).state;
      },
    };
  }

  /** Derives the step's cost from the graph alone and refuses the job before anything of it runs. */
  #bound(job: OnChainJobTerms, manifest: JobManifest, graph: Uint8Array): void {
    const ints = manifestIntegers(manifest);
    try {
      const cost = deriveStepCost(graph, manifest.data.batchSize, manifest.costModel);
      checkStepCost(
        cost,
        [
          { source: "manifest", flopsPerStep: ints.flopsPerStep, stateBytes: ints.stateBytes },
          { source: "on-chain job", flopsPerStep: job.flopsPerStep, stateBytes: job.stateBytes },
        ],
        { maxFlopsPerStep: this.#limits.maxFlopsPerStep, maxPeakBytes: this.#limits.maxPeakBytes },
      );
    } catch (cause) {
      const msg = cause instanceof UPowError ? cause.shortMessage : String(cause);
      const details = { jobId: job.jobId, ...(cause instanceof UPowError ? cause.details : {}) };
      if (cause instanceof StepCostAboveCapError) throw new JobAboveCapsError(`job refused: ${msg}`, { cause, details });
      throw new InvalidSpecError(`invalid spec: ${msg}`, { cause, details });
    }
  }
}
