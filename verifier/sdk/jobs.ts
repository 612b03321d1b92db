/**
 * Creating and following a job from an integrator's code, over an ethers v6 signer/provider:
 * `createJob` (checks the options, builds and uploads the artifacts, runs the workers' checks of
 * the spec, approves, escrows), `watchJob` (the job's events as they are mined) and `waitForFinal`.
 */
import type { Interface, Provider, Signer } from "ethers";
import { assertChainId, connectDeployment, deploymentStartBlock, type Deployment } from "../chain/registry";
import { IERC20__factory } from "../../typechain-types";
import { JobStatus, jobStatusName } from "../protocol/enums";
import type { Hash } from "../protocol/hashing";
import type { JobManifest } from "../engine/manifest";
import { createJob as escrowJob, prepareMnistJob, type MnistJobOptions } from "../requester/createJob";
import { LocalStore, startStoreServer, type RemoteArtifactStore } from "../store";
import type { S3StoreOptions } from "../store/s3Options";
import type { S3ArtifactStore } from "../store/s3Store";
import { inAccountOrder } from "./accountSends";
import { JobNotFoundError, SdkInputError, WaitTimeoutError } from "./errors";

export interface CreateJobOptions {
  /** The requester: an ethers Signer connected to a provider. */
  readonly signer: Signer;
  readonly deployment: Deployment;
  readonly job: MnistJobOptions;
  /** Where the artifacts are written (serve it at publicBaseUrl for as long as the job runs: serveArtifacts). */
  readonly store: LocalStore;
  /** Base URL of the manifest's artifact URIs. @default remote.publicBaseUrl */
  readonly publicBaseUrl?: string;
  /** Every artifact is uploaded here too (an S3 bucket), so the job outlives the requester's machine. */
  readonly remote?: RemoteArtifactStore;
  /** Paid to the worker, in payment-token base units. */
  readonly reward: bigint;
  /** Paid to the auditors. */
  readonly verificationFee: bigint;
  /** @default the deployment's PaymentToken */
  readonly paymentToken?: string;
  /** Worker collateral. @default JobMarket.requiredCollateral(reward) */
  readonly collateral?: bigint;
  /** Seconds from the latest block until the job can no longer be claimed. @default 86 400 */
  readonly claimWindow?: bigint;
  /** Seconds from claim to the submission deadline. @default 86 400 */
  readonly trainingDuration?: bigint;
  /** Let the spec checks fetch from loopback/private addresses. @default true on chains 31337 and 1337 only */
  readonly allowPrivateArtifacts?: boolean;
}

export interface CreatedJob {
  readonly jobId: bigint;
  readonly specHash: Hash;
  readonly specURI: string;
  readonly manifest: JobManifest;
  readonly blockNumber: number;
  readonly transactionHash: string;
}

const positiveInt = (field: string, v: unknown): void => {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) throw new SdkInputError(field, "must be a positive integer", v);
};
const nonNegative = (field: string, v: unknown, min = 0n): void => {
  if (typeof v !== "bigint" || v < min) throw new SdkInputError(field, `must be a bigint ≥ ${min}`, v);
};

/** Checks what createJob can check before any work: every failure names the option. */
function checkCreateJobOptions(o: CreateJobOptions): void {
  if (o.deployment?.contracts?.JobMarket === undefined)
    throw new SdkInputError("deployment", "is not a loaded deployment (loadDeployment)");
  if (o.signer?.provider === null || o.signer?.provider === undefined) throw new SdkInputError("signer", "must be connected to a provider");
  const j = o.job;
  if (j === undefined) throw new SdkInputError("job", "is required");
  positiveInt("job.totalSteps", j.totalSteps);
  positiveInt("job.checkpointInterval", j.checkpointInterval);
  if (j.totalSteps % j.checkpointInterval !== 0)
    throw new SdkInputError("job.totalSteps", "must be a multiple of job.checkpointInterval", {
      totalSteps: j.totalSteps,
      checkpointInterval: j.checkpointInterval,
    });
  positiveInt("job.batchSize", j.batchSize);
  positiveInt("job.numBatches", j.numBatches);
  if (typeof j.seed !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(j.seed))
    throw new SdkInputError("job.seed", "must be a 0x-prefixed 32-byte hex string", j.seed);
  nonNegative("reward", o.reward, 1n);
  nonNegative("verificationFee", o.verificationFee);
  if (o.collateral !== undefined) nonNegative("collateral", o.collateral);
  if (o.claimWindow !== undefined) nonNegative("claimWindow", o.claimWindow, 1n);
  if (o.trainingDuration !== undefined) nonNegative("trainingDuration", o.trainingDuration, 1n);
  if (!(o.store instanceof LocalStore)) throw new SdkInputError("store", "must be a LocalStore (openArtifactStore or serveArtifacts)");
  if (o.publicBaseUrl === undefined && o.remote === undefined)
    throw new SdkInputError("publicBaseUrl", "is required without a remote store");
  if (o.paymentToken === undefined && o.deployment.contracts.PaymentToken === undefined)
    throw new SdkInputError("paymentToken", "is required: the deployment has no PaymentToken");
}

/** Builds the job's artifacts, stores them, checks the spec as workers will, approves the escrow and creates the job. */
export async function createJob(o: CreateJobOptions): Promise<CreatedJob> {
  checkCreateJobOptions(o);
  const provider = o.signer.provider!;
  await assertChainId(o.deployment, provider);
  const { jobMarket } = connectDeployment(o.deployment, o.signer);
  const paymentToken = IERC20__factory.connect(o.paymentToken ?? o.deployment.contracts.PaymentToken!.address, o.signer);
  const prepared = await prepareMnistJob({ ...o.job, store: o.store, remote: o.remote, publicBaseUrl: o.publicBaseUrl });
  // Approve and escrow after this account's earlier createJob calls, with nonces continuing theirs.
  const r = await inAccountOrder(provider, o.signer, async (nonce) => {
    const latest = await provider.getBlock("latest");
    if (latest === null) throw new JobNotFoundError("the provider has no latest block");
    const created = await escrowJob({
      jobMarket,
      job: prepared,
      paymentToken,
      reward: o.reward,
      verificationFee: o.verificationFee,
      collateral: o.collateral,
      claimDeadline: BigInt(latest.timestamp) + (o.claimWindow ?? 86_400n),
      trainingDuration: o.trainingDuration ?? 86_400n,
      allowPrivateArtifacts: o.allowPrivateArtifacts,
      nonce,
    });
    return { result: created, sent: 2, lastHash: created.receipt.hash };
  });
  return {
    jobId: r.jobId,
    specHash: prepared.specHash,
    specURI: prepared.specURI,
    manifest: prepared.manifest,
    blockNumber: r.receipt.blockNumber,
    transactionHash: r.receipt.hash,
  };
}

export interface ArtifactServer {
  readonly store: LocalStore;
  /** Base URL to give createJob as publicBaseUrl. */
  readonly url: string;
  close(): Promise<void>;
}

/** Opens (or creates) a content-addressed artifact store in `dir` without serving it. */
export function openArtifactStore(dir: string): Promise<LocalStore> {
  return LocalStore.open(dir);
}

/**
 * An S3-compatible bucket as createJob's `remote`: every artifact is uploaded there and the
 * manifest names its public base URL. Loaded on first use (the AWS SDK is large).
 */
export async function s3ArtifactStore(options: S3StoreOptions): Promise<S3ArtifactStore> {
  const s3 = await import("../store/s3Store");
  return new s3.S3ArtifactStore(options);
}

/** Opens the store in `dir` and serves it over HTTP (workers and verifiers fetch the job's artifacts from it). */
export async function serveArtifacts(o: { dir: string; host?: string; port?: number }): Promise<ArtifactServer> {
  const store = await LocalStore.open(o.dir);
  const server = await startStoreServer({ store, host: o.host, port: o.port });
  return { store, url: server.url, close: () => server.close() };
}

/** The job events watchJob reports. */
export const JOB_EVENTS = [
  "JobCreated",
  "JobClaimed",
  "ResultSubmitted",
  "JobDisputeOpened",
  "JobDisputeClosed",
  "JobFinalized",
  "JobRejected",
  "JobCancelled",
  "AuditorsAssigned",
  "Attested",
  "WorkerConvicted",
] as const;
export type JobEventName = (typeof JOB_EVENTS)[number];

export interface JobEvent {
  readonly name: JobEventName;
  readonly jobId: bigint;
  readonly blockNumber: number;
  readonly transactionHash: string;
  /** The event's named arguments (bigints for integers). */
  readonly args: Readonly<Record<string, unknown>>;
}

export interface WatchJobOptions {
  readonly provider: Provider;
  readonly deployment: Deployment;
  readonly jobId: bigint;
  readonly onEvent: (e: JobEvent) => void;
  /** Called with a read error; polling goes on. @default ignored */
  readonly onError?: (e: unknown) => void;
  /** @default the deployment's first block */
  readonly fromBlock?: number;
  /** @default 1000 */
  readonly pollMs?: number;
}

export interface JobWatcher {
  /**
   * Stops polling after a last read; resolves once every event up to the provider's head was handed
   * over. Callable again: each call reads once more (a provider may answer the head from a short cache).
   */
  stop(): Promise<void>;
}

/** The interface that decodes each job-event source's logs, by lower-cased address. */
function jobEventSources(provider: Provider, deployment: Deployment): Map<string, Interface> {
  const c = connectDeployment(deployment, provider);
  return new Map<string, Interface>([
    [deployment.contracts.JobMarket.address.toLowerCase(), c.jobMarket.interface],
    [deployment.contracts.AuditManager.address.toLowerCase(), c.auditManager.interface],
    [deployment.contracts.DisputeManager.address.toLowerCase(), c.disputeManager.interface],
  ]);
}

/** Reads every job event of `jobId` in [from, to], in chain order. */
async function readJobEvents(
  provider: Provider,
  byAddress: ReadonlyMap<string, Interface>,
  jobId: bigint,
  from: number,
  to: number,
): Promise<JobEvent[]> {
  const logs = await provider.getLogs({ address: [...byAddress.keys()], fromBlock: from, toBlock: to });
  const out: JobEvent[] = [];
  for (const log of [...logs].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index)) {
    const parsed = byAddress.get(log.address.toLowerCase())?.parseLog(log);
    if (!parsed || !(JOB_EVENTS as readonly string[]).includes(parsed.name)) continue;
    const args: Record<string, unknown> = {};
    parsed.fragment.inputs.forEach((input, i) => (args[input.name] = parsed.args[i]));
    if (args.jobId !== jobId) continue;
    out.push({ name: parsed.name as JobEventName, jobId, blockNumber: log.blockNumber, transactionHash: log.transactionHash, args });
  }
  return out;
}

/**
 * Polls the chain for the job's events and hands each to `onEvent` once, in chain order.
 * `stop()` reads up to the current block one last time, so an event mined before it is not lost.
 */
export function watchJob(o: WatchJobOptions): JobWatcher {
  if (typeof o.jobId !== "bigint" || o.jobId < 1n) throw new SdkInputError("jobId", "must be a positive bigint", o.jobId);
  if (typeof o.onEvent !== "function") throw new SdkInputError("onEvent", "must be a function");
  const pollMs = o.pollMs ?? 1000;
  let from = o.fromBlock ?? deploymentStartBlock(o.deployment);
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const sources = jobEventSources(o.provider, o.deployment);
  const readOnce = async (): Promise<void> => {
    try {
      const to = await o.provider.getBlockNumber();
      if (to >= from) {
        for (const e of await readJobEvents(o.provider, sources, o.jobId, from, to)) o.onEvent(e);
        from = to + 1;
      }
    } catch (e) {
      o.onError?.(e);
    }
  };
  const loop = async (): Promise<void> => {
    await readOnce();
    if (!stopping) timer = setTimeout(() => (running = loop()), pollMs);
  };
  running = loop();
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
      running = readOnce();
      await running;
    },
  };
}

/** Statuses after which nothing more happens to a job. */
export const FINAL_STATUSES = ["Finalized", "Rejected", "Cancelled"] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export interface WaitForFinalOptions {
  readonly provider: Provider;
  readonly deployment: Deployment;
  readonly jobId: bigint;
  /** @default 30 minutes */
  readonly timeoutMs?: number;
  /** @default 1000 */
  readonly pollMs?: number;
  /** Every job event on the way (watchJob). */
  readonly onEvent?: (e: JobEvent) => void;
  /** First block onEvent's events are read from. @default the deployment's first block */
  readonly fromBlock?: number;
}

/** The event that ends a job in each final status. */
const TERMINAL_EVENT: Readonly<Record<FinalStatus, JobEventName>> = {
  Finalized: "JobFinalized",
  Rejected: "JobRejected",
  Cancelled: "JobCancelled",
};

/**
 * Resolves with the job's final status (Finalized, Rejected or Cancelled); WaitTimeoutError after
 * timeoutMs. With onEvent, every event up to the one that ended the job is handed over first.
 */
export async function waitForFinal(o: WaitForFinalOptions): Promise<FinalStatus> {
  const timeoutMs = o.timeoutMs ?? 30 * 60_000;
  const pollMs = o.pollMs ?? 1000;
  const { jobMarket } = connectDeployment(o.deployment, o.provider);
  const seen = new Set<JobEventName>();
  const onEvent = o.onEvent;
  const watcher = onEvent
    ? watchJob({
        provider: o.provider,
        deployment: o.deployment,
        jobId: o.jobId,
        pollMs,
        fromBlock: o.fromBlock,
        onEvent: (e) => (seen.add(e.name), onEvent(e)),
      })
    : undefined;
  const deadline = Date.now() + timeoutMs;
  let final: FinalStatus | undefined;
  try {
    for (;;) {
      const status = Number((await jobMarket.getJob(o.jobId)).status);
      if (status === JobStatus.None)
        throw new JobNotFoundError(`no job ${o.jobId} on this JobMarket`, { details: { jobId: o.jobId.toString() } });
      const name = jobStatusName(status);
      if ((FINAL_STATUSES as readonly string[]).includes(name)) return (final = name as FinalStatus);
      if (Date.now() > deadline) throw new WaitTimeoutError(o.jobId, name, timeoutMs);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    await watcher?.stop();
    // The status can be read before the event's block is the provider's (cached) head: read until the ending event came.
    for (let i = 0; watcher && final !== undefined && !seen.has(TERMINAL_EVENT[final]) && i < 50; i++) {
      await new Promise((r) => setTimeout(r, Math.min(pollMs, 200)));
      await watcher.stop();
    }
  }
}
