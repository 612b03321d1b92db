/**
 * Before claiming: fetch the manifest (checked against the on-chain spec hash), the step graph
 * (validated; FLOPs and memory re-derived by shape inference, §10.11), the initial state (checked
 * against its state hash) and every batch (checked against the data root). Everything lands in the
 * worker's LocalStore, so it is also served for batch chunk challenges later.
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { batchOrder, loadBatch } from "../engine/data";
import type { Hash } from "../protocol/hashing";
import { parseManifest, type JobManifest } from "../engine/manifest";
import { DEFAULT_FLOORS } from "../engine/calibrate";
import { deriveStepCost } from "../engine/costModel";
import { readSafetensors } from "../engine/safetensors";
import { fileHashOfSync } from "../engine/statehash";
import type { BatchSource } from "../engine/step";
import type { TensorMap } from "../engine/tensor";
import { ArtifactFetchFailedError, fetchArtifact, type ArtifactUrlPolicy, type LocalStore } from "../store";
import { parseArtifactUri, parseDatasetList, type DatasetList } from "../protocol/jobArtifacts";
import type { ChainJobView, PreparedView } from "./decider";

export interface PreparedJob {
  readonly manifest: JobManifest;
  readonly graph: Uint8Array;
  readonly initialStateBytes: Uint8Array;
  readonly initialState: TensorMap;
  readonly dataset: DatasetList;
  readonly view: PreparedView & { ok: true };
  /** Batch of global step t, per the manifest's batch order; files read from the store and checked. */
  readonly batches: BatchSource;
  /** Batch file bytes by batch index (for batch chunk challenges). */
  batchBytes(i: number): Promise<Buffer>;
}

export interface PrepareJobParameters {
  readonly job: ChainJobView;
  readonly specURI: string;
  readonly store: LocalStore;
  readonly maxArtifactBytes: bigint;
  readonly logger: Logger;
  /** Per-try timeout. @default 30_000 */
  readonly timeoutMs?: number;
  /** Retry rounds per artifact. @default 2 */
  readonly retries?: number;
  /** Which job-named URLs may be fetched (V8.4); a job whose URLs are refused is not served. */
  readonly urlPolicy: ArtifactUrlPolicy;
}

/** A step of preparation failed; `reason` is what the decider reports. */
export class PrepareJobError extends UPowError {
  override readonly name = "PrepareJobError";
  constructor(
    readonly reason: "manifest-invalid" | "artifact-unavailable" | "graph-invalid",
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options);
  }
}

const MANIFEST_MAX = 64 * 1024 * 1024;

export async function prepareJob(p: PrepareJobParameters): Promise<PreparedJob> {
  const log = p.logger.child({ jobId: p.job.jobId.toString() });
  const max = Number(p.maxArtifactBytes > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : p.maxArtifactBytes);
  const get = async (uri: string, sha256: string, maxBytes: number, what: string): Promise<Buffer> => {
    let path: string;
    try {
      path = await fetchArtifact({
        hash: sha256,
        uris: [uri],
        store: p.store,
        maxBytes,
        logger: log,
        timeoutMs: p.timeoutMs ?? 30_000,
        retries: p.retries ?? 2,
        backoffMs: 100,
        urlPolicy: p.urlPolicy,
      });
    } catch (cause) {
      const why = cause instanceof ArtifactFetchFailedError ? cause.errors.map((e) => e.shortMessage).join("; ") : String(cause);
      throw new PrepareJobError("artifact-unavailable", `${what} could not be fetched: ${why}`, { cause, details: { uri } });
    }
    return readFile(path);
  };
  const loc = (uri: string, what: string): { sha256: string } => {
    try {
      return parseArtifactUri(uri, what);
    } catch (cause) {
      throw new PrepareJobError("manifest-invalid", `${what} is not an artifact URI`, { cause });
    }
  };

  const specLoc = loc(p.specURI, "specURI");
  if (`0x${specLoc.sha256}` !== p.job.specHash.toLowerCase()) {
    throw new PrepareJobError("manifest-invalid", "specURI does not address the on-chain spec hash", {
      details: { specURI: p.specURI, specHash: p.job.specHash },
    });
  }
  let manifest: JobManifest;
  try {
    // Below the floors, honest arithmetic on another kernel implementation can exceed the bound
    // (docs/tolerance.md): a job that tight could convict this worker's honest steps, so refuse it.
    manifest = parseManifest(await get(p.specURI, specLoc.sha256, MANIFEST_MAX, "manifest"), {
      expectedSpecHash: p.job.specHash,
      floors: DEFAULT_FLOORS,
    });
  } catch (cause) {
    if (cause instanceof PrepareJobError) throw cause;
    throw new PrepareJobError(
      "manifest-invalid",
      `manifest is invalid: ${cause instanceof UPowError ? cause.shortMessage : String(cause)}`,
      { cause },
    );
  }

  const graphLoc = loc(manifest.graph.uri, "graph.uri");
  if (`0x${graphLoc.sha256}` !== manifest.graph.sha256)
    throw new PrepareJobError("manifest-invalid", "graph.uri does not address graph.sha256");
  const graph = await get(manifest.graph.uri, graphLoc.sha256, max, "step graph");
  const batchSize = manifest.data.batchSize;
  let derivedFlops: bigint;
  try {
    // The cost model the manifest names (V8.2; none: upow.cost/1), the same derivation verifiers make.
    derivedFlops = deriveStepCost(graph, batchSize, manifest.costModel).flopsPerStep;
  } catch (cause) {
    throw new PrepareJobError("graph-invalid", "step graph failed validation or shape inference", { cause });
  }

  const initLoc = loc(manifest.initialState.uri, "initialState.uri");
  const initialStateBytes = await get(manifest.initialState.uri, initLoc.sha256, max, "initial state");
  const initHash = fileHashOfSync(initialStateBytes);
  if (initHash !== manifest.initialState.hash) {
    throw new PrepareJobError("manifest-invalid", "initial state does not match its state hash", {
      details: { want: manifest.initialState.hash, got: initHash },
    });
  }
  let initialState: TensorMap;
  try {
    initialState = readSafetensors(initialStateBytes);
  } catch (cause) {
    throw new PrepareJobError("manifest-invalid", "initial state is not a valid state file", { cause });
  }

  const dataLoc = loc(manifest.data.uri, "data.uri");
  let dataset: DatasetList;
  try {
    dataset = parseDatasetList(await get(manifest.data.uri, dataLoc.sha256, MANIFEST_MAX, "dataset list"), {
      dataRoot: manifest.data.root,
      numBatches: manifest.data.numBatches,
    });
  } catch (cause) {
    if (cause instanceof PrepareJobError) throw cause;
    throw new PrepareJobError("manifest-invalid", "dataset list is invalid", { cause });
  }
  const dataBase = manifest.data.uri.slice(0, manifest.data.uri.lastIndexOf("/artifacts/"));
  let artifactBytes = BigInt(graph.length + initialStateBytes.length);
  for (let i = 0; i < dataset.batches.length; i++) {
    const b = dataset.batches[i]!;
    const bytes = await get(`${dataBase}/artifacts/${b.sha256}`, b.sha256, max, `batch ${i}`);
    if (fileHashOfSync(bytes) !== b.batchHash)
      throw new PrepareJobError("manifest-invalid", "batch file does not match its batch hash", { details: { batch: i } });
    artifactBytes += BigInt(bytes.length);
  }

  const cache = new Map<number, TensorMap>();
  const batchBytes = async (i: number): Promise<Buffer> => p.store.get(dataset.batches[i]!.sha256);
  const batches: BatchSource = async (t) => {
    const i = batchOrder(manifest.seed, manifest.data.numBatches, t);
    const hit = cache.get(i);
    if (hit) return hit;
    const tensors = loadBatch(await batchBytes(i), { batchSize, expectedHash: dataset.batches[i]!.batchHash }).tensors;
    if (cache.size >= 64) cache.delete(cache.keys().next().value!);
    cache.set(i, tensors);
    return tensors;
  };
  const view: PreparedView & { ok: true } = {
    ok: true,
    totalSteps: BigInt(manifest.totalSteps),
    checkpointInterval: BigInt(manifest.checkpointInterval),
    numBatches: BigInt(manifest.data.numBatches),
    declaredFlopsPerStep: BigInt(manifest.flopsPerStep),
    declaredStateBytes: BigInt(manifest.stateBytes),
    initialStateHash: manifest.initialState.hash as Hash,
    dataRoot: manifest.data.root as Hash,
    derivedFlopsPerStep: derivedFlops,
    derivedStateBytes: BigInt(initialStateBytes.length),
    artifactBytes,
  };
  log.info({ derivedFlops: derivedFlops.toString(), artifactBytes: artifactBytes.toString() }, "job artifacts fetched and checked");
  return { manifest, graph, initialStateBytes, initialState, dataset, view, batches, batchBytes };
}
