/**
 * The files a CLI job is made of, and loading them with every hash checked:
 *   model dir: graph.onnx, init.safetensors, model.json {spec, hp, seed}
 *   data dir:  batch-NNNNNN.safetensors, test.safetensors, batches.json (engine/data.ts)
 *   job file:  job.json naming both, with T, k, the batch-order seed and the tolerance.
 * Paths inside job.json are relative to the job file.
 */
import path from "node:path";
import { createHash } from "node:crypto";
import type { Hash } from "../protocol/hashing";
import { batchFileName, batchOrder, loadBatch, type DatasetIndex } from "../engine/data";
import { type ModelSpec } from "../engine/onnx";
import { readSafetensors } from "../engine/safetensors";
import { fileHashOfSync } from "../engine/statehash";
import type { TensorMap } from "../engine/tensor";
import type { BatchSource } from "../engine/step";
import { CliError, readFileOr, readJson } from "./context";
import { canonicalJson } from "../protocol/canonicalJson";

export interface ModelInfo {
  readonly spec: ModelSpec;
  readonly hp: Record<string, number>;
  readonly seed: string;
  readonly graphSha256: string;
  readonly initialStateHash: Hash;
}

export interface Tolerance {
  readonly deltaUpd: number;
  readonly deltaUlp: number;
  readonly deltaKUpd: number;
  readonly deltaKUlp: number;
}

export interface JobFile {
  readonly version: 1;
  readonly spec: ModelSpec;
  readonly graph: { readonly path: string; readonly sha256: string };
  readonly initialState: { readonly path: string; readonly hash: Hash };
  readonly data: {
    readonly dir: string;
    readonly dataRoot: Hash;
    readonly numBatches: number;
    readonly batchSize: number;
    readonly testSetHash: Hash;
  };
  /** bytes32 hex seed of the batch order. */
  readonly seed: Hash;
  readonly hp: Record<string, number>;
  readonly T: number;
  readonly k: number;
  readonly tolerance: Tolerance;
}

export const DEFAULT_TOLERANCE: Tolerance = { deltaUpd: 3e-3, deltaUlp: 1e-6, deltaKUpd: 6e-3, deltaKUlp: 2e-6 }; // δ_k: DELTA_K_PROCEDURE floors (v3 V7.3)

export interface LoadedJob {
  readonly file: string;
  readonly job: JobFile;
  /** sha256 of the RFC 8785 canonical job JSON (binds a checkpoint directory to this job). */
  readonly jobHash: string;
  readonly graph: Uint8Array;
  readonly initialState: TensorMap;
  readonly batches: BatchSource;
  loadTestSet(): Promise<TensorMap>;
}

export function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

export { canonicalJson };

export async function loadJob(file: string): Promise<LoadedJob> {
  const job = await readJson<JobFile>(file, "job file");
  if (
    job.version !== 1 ||
    !job.spec ||
    !job.graph ||
    !job.initialState ||
    !job.data ||
    typeof job.T !== "number" ||
    typeof job.k !== "number"
  ) {
    throw new CliError("job file is malformed", { details: { file } });
  }
  const base = path.dirname(file);
  const graph = await readFileOr(path.resolve(base, job.graph.path), "step graph");
  if (sha256Hex(graph) !== job.graph.sha256)
    throw new CliError("step graph does not match its sha256 in the job file", { details: { path: job.graph.path } });
  const stateBytes = await readFileOr(path.resolve(base, job.initialState.path), "initial state");
  if (fileHashOfSync(stateBytes) !== job.initialState.hash)
    throw new CliError("initial state does not match its hash in the job file", { details: { path: job.initialState.path } });
  const dataDir = path.resolve(base, job.data.dir);
  const index = await readJson<DatasetIndex>(path.join(dataDir, "batches.json"), "dataset index");
  if (index.dataRoot !== job.data.dataRoot || index.numBatches !== job.data.numBatches) {
    throw new CliError("dataset index does not match the job's data root", { details: { dir: dataDir } });
  }
  const cache = new Map<number, TensorMap>();
  const batches: BatchSource = async (t) => {
    const i = batchOrder(job.seed, job.data.numBatches, t);
    const hit = cache.get(i);
    if (hit) return hit;
    const bytes = await readFileOr(path.join(dataDir, batchFileName(i)), `batch ${i}`);
    const b = loadBatch(bytes, { batchSize: job.data.batchSize, expectedHash: index.batchHashes[i] }).tensors;
    cache.set(i, b);
    return b;
  };
  return {
    file,
    job,
    jobHash: sha256Hex(Buffer.from(canonicalJson(job))),
    graph,
    initialState: readSafetensors(stateBytes),
    batches,
    async loadTestSet() {
      const bytes = await readFileOr(path.join(dataDir, "test.safetensors"), "test set");
      return loadBatch(bytes, { expectedHash: job.data.testSetHash }).tensors;
    },
  };
}

export async function loadStateFile(p: string, what = "state"): Promise<{ state: TensorMap; hash: Hash; bytes: Buffer }> {
  const bytes = await readFileOr(p, what);
  return { state: readSafetensors(bytes), hash: fileHashOfSync(bytes), bytes };
}
