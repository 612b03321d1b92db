/**
 * A job's result as the chain commits it: `getResult` finds the JobCreated and ResultSubmitted
 * events, fetches the manifest and the worker's result index (each checked against its on-chain
 * hash), then the checkpoint states (each checked against the committed state hash), and evaluates
 * every checkpoint on a held-out test set: the loss curve and the final test accuracy are measured
 * here, from verified bytes, not taken from the worker's word.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Provider } from "ethers";
import { connectDeployment, deploymentStartBlock, type Deployment } from "../chain/registry";
import { jobStatusName } from "../protocol/enums";
import type { Hash } from "../protocol/hashing";
import { parseResultIndex, type ResultIndex } from "../protocol/resultIndex";
import { parseManifest, type JobManifest } from "../engine/manifest";
import { buildInferenceGraph } from "../engine/onnx/inference";
import { readSafetensors } from "../engine/safetensors";
import { fileHashOfSync } from "../engine/statehash";
import { fetchArtifact, LocalStore } from "../store";
import { JobNotFinalError, JobNotFoundError, ResultArtifactError, SdkInputError } from "./errors";
import { evaluateModel, mnistTestSet, type LabelledSet } from "./evaluate";
import { isLocalChain } from "../chain/confirmations";

/** Where to read a job: the chain, and how artifacts may be fetched. */
export interface JobReadOptions {
  readonly provider: Provider;
  readonly deployment: Deployment;
  readonly jobId: bigint;
  /** Fetch from loopback/private addresses (a local store). @default true on chains 31337 and 1337 only */
  readonly allowPrivateArtifacts?: boolean;
  /** Keep fetched artifacts here (a content-addressed store). @default a temporary folder, removed after */
  readonly cacheDir?: string;
  /** Also read a job that is Submitted but not yet Finalized (its result may still be disputed). @default false */
  readonly allowUnfinalized?: boolean;
}

export interface LossPoint {
  /** Global step of the checkpoint (0 = the initial state). */
  readonly step: number;
  readonly loss: number;
  readonly accuracy: number;
}

export interface JobResult {
  readonly jobId: bigint;
  readonly status: string;
  readonly specHash: Hash;
  readonly checkpointRoot: Hash;
  readonly finalStateHash: Hash;
  readonly resultURI: string;
  readonly manifest: JobManifest;
  /** The worker's result index (every checkpoint and step state, with store addresses). */
  readonly index: ResultIndex;
  /** The final training state (safetensors bytes; weights and optimizer slots). */
  readonly finalState: Buffer;
  /** Test loss and accuracy at every checkpoint, step 0 to T. */
  readonly lossCurve: readonly LossPoint[];
  /** Accuracy of the final state on the test set. */
  readonly testAccuracy: number;
  readonly testLoss: number;
  readonly testCount: number;
}

export interface GetResultOptions extends JobReadOptions {
  /** @default the job's MNIST held-out test split (mnistTestSet(manifest.seed)) */
  readonly testSet?: LabelledSet;
}

/** What every reader of a result needs: the job's committed values and the verified artifacts. */
export interface LoadedResult {
  readonly status: string;
  readonly specHash: Hash;
  readonly checkpointRoot: Hash;
  readonly finalStateHash: Hash;
  readonly resultURI: string;
  readonly manifest: JobManifest;
  readonly index: ResultIndex;
  readonly graph: Uint8Array;
  /** Fetches a state by its index entry and checks it against its committed hash. */
  state(entry: { readonly stateHash: Hash; readonly sha256: string }): Promise<Buffer>;
}

const ARTIFACT_URI = /^(.*)\/artifacts\/([0-9a-f]{64})$/;
/** Bounds for what a hostile store could send: manifests and indexes are small, graphs and states are bounded by the manifest. */
const MAX_INDEX_BYTES = 256 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_GRAPH_BYTES = 256 * 1024 * 1024;

/** Opens the job's result and runs `use` with it; temporary files go afterwards. */
export async function withResult<T>(o: JobReadOptions, use: (r: LoadedResult) => Promise<T>): Promise<T> {
  if (typeof o.jobId !== "bigint" || o.jobId < 1n) throw new SdkInputError("jobId", "must be a positive bigint", o.jobId);
  const chainId = (await o.provider.getNetwork()).chainId;
  const allowPrivate = o.allowPrivateArtifacts ?? isLocalChain(chainId);
  const c = connectDeployment(o.deployment, o.provider);
  const job = await c.jobMarket.getJob(o.jobId);
  const status = jobStatusName(job.status);
  if (status === "None") throw new JobNotFoundError(`no job ${o.jobId} on this JobMarket`, { details: { jobId: o.jobId.toString() } });
  if (status !== "Finalized" && !(o.allowUnfinalized === true && status === "Submitted")) {
    throw new JobNotFinalError(
      o.jobId,
      status,
      o.allowUnfinalized === true
        ? "a result needs Submitted or Finalized"
        : "a result needs Finalized (allowUnfinalized reads a Submitted one)",
    );
  }
  const from = deploymentStartBlock(o.deployment);
  const [created] = await c.jobMarket.queryFilter(c.jobMarket.filters.JobCreated(o.jobId), from);
  const [submitted] = await c.jobMarket.queryFilter(c.jobMarket.filters.ResultSubmitted(o.jobId), from);
  if (created === undefined || submitted === undefined)
    throw new JobNotFoundError(`job ${o.jobId}: no ${created === undefined ? "JobCreated" : "ResultSubmitted"} event since block ${from}`);

  const dir = o.cacheDir ?? (await mkdtemp(path.join(tmpdir(), "upow-sdk-")));
  try {
    const store = await LocalStore.open(dir);
    const fetchBytes = async (what: string, sha256: string, bases: readonly string[], maxBytes: number): Promise<Buffer> => {
      try {
        await fetchArtifact({
          hash: sha256,
          uris: bases.map((b) => `${b.replace(/\/+$/, "")}/artifacts/${sha256}`),
          store,
          maxBytes,
          urlPolicy: { allowPrivate },
          retries: 2,
        });
        return await store.get(sha256);
      } catch (cause) {
        throw new ResultArtifactError(what, "could not be fetched", { cause, details: { sha256, bases } });
      }
    };
    const split = (what: string, uri: string): { base: string; sha256: string } => {
      const m = ARTIFACT_URI.exec(uri);
      if (m === null) throw new ResultArtifactError(what, "URI is not <base>/artifacts/<sha256>", { details: { uri } });
      return { base: m[1]!, sha256: m[2]! };
    };

    const specHash = created.args.specHash.toLowerCase() as Hash;
    const spec = split("manifest", created.args.specURI);
    let manifest: JobManifest;
    try {
      manifest = parseManifest(await fetchBytes("manifest", spec.sha256, [spec.base], MAX_MANIFEST_BYTES), { expectedSpecHash: specHash });
    } catch (cause) {
      throw cause instanceof ResultArtifactError
        ? cause
        : new ResultArtifactError("manifest", "does not match the job's spec hash", { cause });
    }
    const resultURI = submitted.args.resultURI;
    const idx = split("result index", resultURI);
    const checkpointRoot = job.checkpointRoot.toLowerCase() as Hash;
    const finalStateHash = job.finalStateHash.toLowerCase() as Hash;
    let index: ResultIndex;
    try {
      index = parseResultIndex(await fetchBytes("result index", idx.sha256, [idx.base], MAX_INDEX_BYTES), {
        expect: { jobId: o.jobId, specHash, checkpointRoot, finalStateHash },
      });
    } catch (cause) {
      throw cause instanceof ResultArtifactError
        ? cause
        : new ResultArtifactError("result index", "does not match the job's commitments", { cause });
    }
    const bases = [...new Set([idx.base, ...index.artifactBaseUrls])];
    const graph = await fetchBytes(
      "step graph",
      manifest.graph.sha256.slice(2),
      [split("step graph", manifest.graph.uri).base, ...bases],
      MAX_GRAPH_BYTES,
    );
    const stateBytes = Number(manifest.stateBytes);
    const state = async (entry: { readonly stateHash: Hash; readonly sha256: string }): Promise<Buffer> => {
      const bytes = await fetchBytes("state", entry.sha256, bases, stateBytes);
      if (fileHashOfSync(bytes) !== entry.stateHash)
        throw new ResultArtifactError("state", "does not hash to its committed state hash", { details: { ...entry } });
      return bytes;
    };
    return await use({ status, specHash, checkpointRoot, finalStateHash, resultURI, manifest, index, graph, state });
  } finally {
    if (o.cacheDir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** The job's committed result, fetched and verified, with its loss curve and test accuracy measured on onnxruntime. */
export async function getResult(o: GetResultOptions): Promise<JobResult> {
  return withResult(o, async (r) => {
    const testSet = o.testSet ?? mnistTestSet(r.manifest.seed);
    const lossCurve: LossPoint[] = [];
    let finalState: Buffer | undefined;
    for (const [i, cp] of r.index.checkpoints.entries()) {
      const bytes = await r.state(cp);
      const e = await evaluateModel(buildInferenceGraph(r.graph, readSafetensors(bytes)).onnx, testSet);
      lossCurve.push({ step: i * r.index.k, loss: e.loss, accuracy: e.accuracy });
      if (i === r.index.checkpoints.length - 1) finalState = bytes;
    }
    if (finalState === undefined || fileHashOfSync(finalState) !== r.finalStateHash)
      throw new ResultArtifactError("final state", "the last checkpoint is not the committed final state");
    const last = lossCurve[lossCurve.length - 1]!;
    return {
      jobId: o.jobId,
      status: r.status,
      specHash: r.specHash,
      checkpointRoot: r.checkpointRoot,
      finalStateHash: r.finalStateHash,
      resultURI: r.resultURI,
      manifest: r.manifest,
      index: r.index,
      finalState,
      lossCurve,
      testAccuracy: last.accuracy,
      testLoss: last.loss,
      testCount: testSet.count,
    };
  });
}
