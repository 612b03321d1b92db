/**
 * A job's spec as the checks need it: the manifest fetched from the on-chain specURI (bytes must
 * hash to the on-chain specHash), cross-checked with the on-chain terms, the step graph (sha256
 * checked; op allow-list and limits are checked when a runner opens it), and a batch source that
 * fetches each batch by its store address and checks its hash against the manifest's data tree.
 */
import { batchOrder } from "../../engine/data";
import type { Hash } from "../../engine/hashing";
import { manifestIntegers, parseManifest, type JobManifest, type Tolerance } from "../../engine/manifest";
import type { TensorMap } from "../../engine/tensor";
import { UPowError } from "../../errors";
import { JobSpecError } from "../errors";
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
}

export class ManifestSpecLoader implements JobSpecLoader {
  readonly #client: ArtifactClient;
  readonly #limits: Required<LoadJobSpecLimits>;
  readonly #cache = new Map<string, Promise<JobSpec>>();

  constructor(client: ArtifactClient, limits: LoadJobSpecLimits = {}) {
    this.#client = client;
    this.#limits = { maxManifestBytes: 1 << 20, maxGraphBytes: 64 << 20, maxBatchBytes: 64 << 20, maxStateBytes: 256 << 20, ...limits };
  }

  load(job: OnChainJobTerms): Promise<JobSpec> {
    const key = `${job.jobId}:${job.specHash}`;
    let p = this.#cache.get(key);
    if (!p) {
      p = this.#load(job);
      this.#cache.set(key, p);
      // A failure (e.g. a mirror down) may be retried later.
      p.catch(() => this.#cache.delete(key));
    }
    return p;
  }

  async #load(job: OnChainJobTerms): Promise<JobSpec> {
    const bytes = await this.#client.fetchUri(job.specURI, "manifest", this.#limits.maxManifestBytes);
    let manifest: JobManifest;
    try {
      manifest = parseManifest(bytes, { expectedSpecHash: job.specHash });
    } catch (cause) {
      throw new JobSpecError(`manifest is unusable: ${cause instanceof UPowError ? cause.shortMessage : String(cause)}`, { cause, details: { jobId: job.jobId } });
    }
    const ints = manifestIntegers(manifest);
    const mismatch = (field: string, chain: unknown, spec: unknown) =>
      new JobSpecError("manifest disagrees with the on-chain job", { details: { jobId: job.jobId, field, chain: String(chain), spec: String(spec) } });
    if (ints.totalSteps !== job.totalSteps) throw mismatch("totalSteps", job.totalSteps, ints.totalSteps);
    if (ints.checkpointInterval !== job.checkpointInterval) throw mismatch("checkpointInterval", job.checkpointInterval, ints.checkpointInterval);
    if (manifest.data.root !== job.dataRoot.toLowerCase()) throw mismatch("dataRoot", job.dataRoot, manifest.data.root);
    if (manifest.initialState.hash !== job.initialStateHash.toLowerCase()) throw mismatch("initialStateHash", job.initialStateHash, manifest.initialState.hash);
    if (BigInt(manifest.data.numBatches) !== job.numBatches) throw mismatch("numBatches", job.numBatches, manifest.data.numBatches);

    const graph = await this.#client.fetch(manifest.graph.sha256, [manifest.graph.uri], "step graph", this.#limits.maxGraphBytes);
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
      async batch(t: number): Promise<TensorMap> {
        const i = batchOrder(manifest.seed, manifest.data.numBatches, t);
        const entry = list.batches[i]!;
        return (await client.fetchState(entry.batchHash, entry.sha256, [base], `batch ${i}`, maxBatch)).state;
      },
    };
  }
}
