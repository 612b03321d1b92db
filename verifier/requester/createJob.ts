/**
 * Requester library: packs a small MNIST job (dataset, MLP step graph, initial state, manifest),
 * puts every artifact into a LocalStore that the caller serves over HTTP (and, given a remote store
 * such as S3, uploads each there too, so the job outlives the requester's machine), checks the spec as a
 * worker and a verifier will (validateJob.ts) and escrows the job on chain with `createJob`. Used
 * by the worker tests, the demo and the examples.
 */
import { createHash } from "node:crypto";
import type { ContractTransactionReceipt } from "ethers";
import type { IERC20, JobMarket } from "../../typechain-types";
import type { IJobMarket } from "../../typechain-types/contracts/JobMarket";
import { CreateJobError } from "./errors";
import { validateJobSpec } from "./validateJob";
import { buildMnistDataset, MNIST_TEST_SIZE } from "../engine/data";
import { isLocalChain } from "../chain/confirmations";
import type { Hash } from "../protocol/hashing";
import { canonicalManifestBytes, MANIFEST_VERSION, specHash as specHashOf, type JobManifest, type Tolerance } from "../engine/manifest";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../engine/onnx";
import { COST_MODEL } from "../engine/costModel";
import { estimateFlops } from "../engine/onnx/flops";
import { writeSafetensors } from "../engine/safetensors";
import { fileHashOfSync } from "../engine/statehash";
import type { LocalStore, RemoteArtifactStore } from "../store";
import { artifactUri, buildDatasetList, encodeDatasetList } from "../protocol/jobArtifacts";

export const DEFAULT_MODEL: ModelSpec = { layers: [784, 16, 10], activation: "relu", optimizer: "sgd" };
export const DEFAULT_JOB_TOLERANCE: Tolerance = { deltaUpd: 3e-3, deltaUlp: 1e-6, deltaKUpd: 6e-3, deltaKUlp: 2e-6 }; // δ_k: DELTA_K_PROCEDURE floors (v3 V7.3)

export { JobSpecInvalidError } from "./errors";

/** The MNIST training job to build (the SDK's `createJob({ job })`; see docs/integrators.md). */
export interface MnistJobOptions {
  /** Training steps T. */
  readonly totalSteps: number;
  /** Steps between checkpoints k; T must be a multiple of k. */
  readonly checkpointInterval: number;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Training batches (the data the worker cycles through). */
  readonly numBatches: number;
  /** bytes32 hex: fixes the data split, the batch order and the initial weights. */
  readonly seed: Hash;
  /** @default 784-16-10 ReLU MLP, SGD */
  readonly model?: ModelSpec;
  /** @default the optimizer's defaults (sgd: lr 0.05) */
  readonly hyperparameters?: Readonly<Record<string, number>>;
  /** @default DEFAULT_JOB_TOLERANCE */
  readonly tolerance?: Tolerance;
}

export interface PrepareMnistJobParameters extends MnistJobOptions {
  /** Where the artifacts go; the caller serves it at `publicBaseUrl`. */
  readonly store: LocalStore;
  /** Every artifact is uploaded here too (after the local put), before the manifest names it. */
  readonly remote?: RemoteArtifactStore;
  /** Base of the manifest's URIs (`<base>/artifacts/<sha256>`). @default remote.publicBaseUrl */
  readonly publicBaseUrl?: string;
  /** Declared FLOPs per step. @default the shape-inferred count (set lower only to test refusals) */
  readonly flopsPerStep?: bigint;
}

export interface PreparedJob {
  readonly manifest: JobManifest;
  readonly manifestBytes: Buffer;
  readonly specHash: Hash;
  readonly specURI: string;
  readonly initialStateHash: Hash;
  readonly stateBytes: number;
  readonly dataRoot: Hash;
  readonly flopsPerStep: bigint;
  /** Batch files, in batch index order (the worker's and the verifiers' inputs). */
  readonly batches: readonly Buffer[];
  readonly graph: Uint8Array;
}

function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Builds every artifact of the job, stores them and returns the manifest (nothing on chain yet). */
export async function prepareMnistJob(p: PrepareMnistJobParameters): Promise<PreparedJob> {
  const model = p.model ?? DEFAULT_MODEL;
  const baseUrl = p.publicBaseUrl ?? p.remote?.publicBaseUrl;
  if (baseUrl === undefined) throw new CreateJobError("no base URL for the job's artifacts: give publicBaseUrl or a remote store");
  const ds = buildMnistDataset({ seed: p.seed, batchSize: p.batchSize, maxBatches: p.numBatches, testSize: MNIST_TEST_SIZE });
  if (ds.numBatches !== p.numBatches)
    throw new CreateJobError("not enough MNIST samples for that many batches", { details: { wanted: p.numBatches, got: ds.numBatches } });
  const graph = buildStepGraph(model);
  const init = writeSafetensors(initState(model, p.seed));
  const cost = estimateFlops(graph, { x: [p.batchSize, 784], y: [p.batchSize] });
  const flopsPerStep = p.flopsPerStep ?? BigInt(Math.ceil(cost.flops));

  const put = async (bytes: Uint8Array): Promise<string> => {
    const h = await p.store.put(bytes);
    if (h !== sha256Hex(bytes)) throw new CreateJobError("store returned an unexpected address");
    if (p.remote) await p.remote.put(bytes, { expectedHash: h });
    return h;
  };
  const graphSha = await put(graph);
  const initSha = await put(init);
  const batches: { batchHash: Hash; sha256: string }[] = [];
  for (let i = 0; i < ds.numBatches; i++) batches.push({ batchHash: ds.batchHashes[i]!, sha256: await put(ds.batches[i]!) });
  const list = buildDatasetList(batches);
  const listSha = await put(encodeDatasetList(list));

  const initialStateHash = fileHashOfSync(init);
  const manifest: JobManifest = {
    version: MANIFEST_VERSION,
    graph: { sha256: `0x${graphSha}`, uri: artifactUri(baseUrl, graphSha) },
    initialState: { hash: initialStateHash, uri: artifactUri(baseUrl, initSha), bytes: String(init.length) },
    data: {
      root: ds.dataRoot,
      uri: artifactUri(baseUrl, listSha),
      numBatches: ds.numBatches,
      batchSize: p.batchSize,
      batchHashes: [...ds.batchHashes],
    },
    seed: p.seed,
    hyperparameters: { ...(p.hyperparameters ?? defaultHyperparameters(model)) },
    totalSteps: String(p.totalSteps),
    checkpointInterval: String(p.checkpointInterval),
    tolerance: p.tolerance ?? DEFAULT_JOB_TOLERANCE,
    flopsPerStep: flopsPerStep.toString(),
    stateBytes: String(init.length),
    costModel: COST_MODEL,
    executionHints: { ep: "cpu", threads: 1 },
    description: `MNIST MLP ${model.layers.join("-")} ${model.activation} ${model.optimizer}`,
  };
  const manifestBytes = canonicalManifestBytes(manifest);
  const manifestSha = await put(manifestBytes);
  const specHash = specHashOf(manifest);
  if (specHash !== `0x${manifestSha}`) throw new CreateJobError("spec hash is not the manifest's store address");
  return {
    manifest,
    manifestBytes,
    specHash,
    specURI: artifactUri(baseUrl, manifestSha),
    initialStateHash,
    stateBytes: init.length,
    dataRoot: ds.dataRoot,
    flopsPerStep,
    batches: ds.batches,
    graph,
  };
}

export interface CreateJobParameters {
  /** JobMarket connected to the requester's signer. */
  readonly jobMarket: JobMarket;
  readonly job: PreparedJob;
  readonly paymentToken: IERC20;
  readonly reward: bigint;
  readonly verificationFee: bigint;
  /** @default jobMarket.requiredCollateral(reward) */
  readonly collateral?: bigint;
  /** Unix time after which the job can no longer be claimed. */
  readonly claimDeadline: bigint;
  /** Seconds from claim to the submission deadline. */
  readonly trainingDuration: bigint;
  /** Approve the escrow first. @default true */
  readonly approve?: boolean;
  /**
   * Run the workers' and verifiers' checks of the spec before any transaction (validateJob.ts).
   * Off only for tests that post a bad spec on purpose. @default true
   */
  readonly validate?: boolean;
  /** Let the checks fetch from loopback/private addresses. @default true on a local chain (31337, 1337) only */
  readonly allowPrivateArtifacts?: boolean;
  /** Nonce of the first send (approve, else createJob), the next send the one after. @default the signer's own */
  readonly nonce?: number;
}

export interface CreateJobReturnType {
  readonly jobId: bigint;
  readonly receipt: ContractTransactionReceipt;
  readonly params: IJobMarket.CreateJobParamsStruct;
}

/** Escrows the prepared job on chain and returns its id (from the JobCreated event). */
export async function createJob(p: CreateJobParameters): Promise<CreateJobReturnType> {
  const m = p.job.manifest;
  const params: IJobMarket.CreateJobParamsStruct = {
    paymentToken: await p.paymentToken.getAddress(),
    reward: p.reward,
    verificationFee: p.verificationFee,
    collateral: p.collateral ?? (await p.jobMarket.requiredCollateral(p.reward)),
    totalSteps: BigInt(m.totalSteps),
    checkpointInterval: BigInt(m.checkpointInterval),
    numBatches: BigInt(m.data.numBatches),
    flopsPerStep: BigInt(m.flopsPerStep),
    stateBytes: BigInt(m.stateBytes),
    initialStateHash: p.job.initialStateHash,
    dataRoot: p.job.dataRoot,
    specHash: p.job.specHash,
    specURI: p.job.specURI,
    claimDeadline: p.claimDeadline,
    trainingDuration: p.trainingDuration,
  };
  if (p.validate !== false) {
    const provider = p.jobMarket.runner?.provider;
    const chainId = provider ? (await provider.getNetwork()).chainId : undefined;
    await validateJobSpec({
      terms: params,
      allowPrivateArtifacts: p.allowPrivateArtifacts ?? (chainId !== undefined && isLocalChain(chainId)),
    });
  }
  let nonce = p.nonce;
  if (p.approve !== false) {
    await (await p.paymentToken.approve(await p.jobMarket.getAddress(), p.reward + p.verificationFee, { nonce })).wait();
    if (nonce !== undefined) nonce += 1;
  }
  const tx = await p.jobMarket.createJob(params, { nonce });
  const receipt = await tx.wait();
  if (!receipt) throw new CreateJobError("createJob has no receipt");
  for (const log of receipt.logs) {
    const parsed = p.jobMarket.interface.parseLog(log);
    if (parsed?.name === "JobCreated") return { jobId: parsed.args[0] as bigint, receipt, params };
  }
  throw new CreateJobError("createJob emitted no JobCreated event");
}
