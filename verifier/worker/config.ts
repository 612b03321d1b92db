/**
 * Worker configuration: one typed, validated object. `upow worker start` (cli/commands/workerStart.ts)
 * parses its flags, env and config file into it; programmatic callers (tests) build it directly
 * with `workerConfig({...})`, which fills the same defaults.
 */
import { getAddress, isAddress } from "ethers";
import { UPowError } from "../errors";
import type { Confirmations } from "../chain/confirmations";
import type { LoadedSigner } from "../chain/keys";
import type { Eip1193Provider } from "../chain/rpc";
import { DAEMON_DEFAULTS } from "../runtime/defaults";
import type { ExecutionProviderName } from "../engine/runner";
import { checkArtifactUrl } from "../store";
import { resolveS3Options, type S3StoreOptions } from "../store/s3Options";

export class WorkerConfigError extends UPowError {
  override readonly name = "WorkerConfigError";
}

export interface AcceptedToken {
  readonly address: string;
  /** Minimum reward per TFLOP of the whole job (T · flopsPerStep), in the token's base units. */
  readonly minRewardPerTflop: bigint;
}

/** Where the worker mirrors what it publishes (docs/worker.md); credentials: the AWS SDK's chain unless given (tests). */
export type WorkerS3Config = Pick<
  S3StoreOptions,
  "bucket" | "prefix" | "endpoint" | "region" | "forcePathStyle" | "publicBaseUrl" | "credentials" | "multipartThresholdBytes"
>;

export interface WorkerConfig {
  /** HTTP JSON-RPC URLs, tried in order. */
  readonly rpcUrls: readonly string[];
  /** In-process EIP-1193 provider (tests: hre.network.provider), used after rpcUrls. */
  readonly eip1193?: Eip1193Provider;
  /** The key, already unlocked (the CLI unlocks it first to name the default data dir); wins over env and keystore. */
  readonly signer?: LoadedSigner;
  /** Environment UPOW_PRIVATE_KEY / UPOW_KEYSTORE_PASSWORD are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly keystore?: string;
  readonly passwordFile?: string;
  /** Journal, instance lock, checkpoints and the artifact store live here. */
  readonly dataDir: string;
  readonly jobMarket: string;
  readonly stakeManager?: string;
  readonly disputeManager?: string;
  /** Refuse jobs whose FLOPs per step (re-derived) exceed this. */
  readonly maxFlopsPerStep: bigint;
  /** Refuse jobs whose total FLOPs (T · flopsPerStep) exceed this. */
  readonly maxJobFlops: bigint;
  /** Refuse jobs whose state file exceeds this many bytes. */
  readonly maxStateBytes: bigint;
  /** Refuse jobs whose artifacts (graph, data) exceed this many bytes in total. */
  readonly maxArtifactBytes: bigint;
  /** Refuse jobs asking more collateral than this (staking token base units); undefined = any. */
  readonly maxCollateral?: bigint;
  readonly acceptedTokens: readonly AcceptedToken[];
  readonly ep: ExecutionProviderName;
  readonly threads: number;
  /** Base URL under which this worker's store is reachable by others (goes into resultURI); no userinfo, query or fragment (V8.4). */
  readonly publicBaseUrl?: string;
  /**
   * Mirror every artifact published for a job to this S3-compatible bucket before submitting, and
   * name its public base URL in the result (resultURI and artifactBaseUrls), so the result stays
   * fetchable while this machine is offline. Undefined: the worker's own store only.
   */
  readonly s3?: WorkerS3Config;
  /** Fetch job-named artifacts from loopback, link-local and private addresses too (tests, a local demo; V8.4). @default false */
  readonly allowPrivateArtifacts: boolean;
  readonly storeHost: string;
  /** 0 picks a free port. */
  readonly storePort: number;
  /** Reads and events at latest − confirmations; auto: 0 on a local dev chain, else 2 (chain/confirmations.ts). */
  readonly confirmations: Confirmations;
  readonly pollIntervalMs: number;
  /** First block to scan for events. */
  readonly startBlock: number;
  /** Submit this many seconds before the deadline at the latest (else give up the job). */
  readonly deadlineMarginSec: number;
  /** Publish every step state at submission (`eager`) or only those of a disputed interval. */
  readonly publishSteps: "eager" | "on-dispute";
  /** Distinct step states one auditor/challenger/juror may fetch per job by signed request (v3 V7.1). */
  readonly stateQuota: number;
  /** Longest lifetime (expiry − chain time) of a signed state request accepted, seconds. */
  readonly stateRequestMaxTtlSec: number;
  /** Decide and log, send nothing. */
  readonly dryRun: boolean;
  readonly logLevel: string;
  /** Serve /metrics and /healthz on this port (0: a free one); undefined: off. */
  readonly metricsPort?: number;
  /** @default 127.0.0.1 */
  readonly metricsHost: string;
  /** /healthz fails when the latest head is older than this, seconds. @default 300 */
  readonly maxHeadAgeSec: number;
  /** Chain id of the deployments file: the start-up check refuses an RPC on another chain. */
  readonly expectedChainId?: number;
}

export const WORKER_DEFAULTS = {
  maxFlopsPerStep: 10n ** 12n,
  maxJobFlops: 10n ** 16n,
  maxStateBytes: 1n << 30n,
  maxArtifactBytes: 4n << 30n,
  ep: "cpu" as ExecutionProviderName,
  threads: 1,
  storeHost: "127.0.0.1",
  storePort: 0,
  confirmations: DAEMON_DEFAULTS.confirmations,
  pollIntervalMs: DAEMON_DEFAULTS.pollIntervalMs,
  startBlock: 0,
  deadlineMarginSec: 30,
  publishSteps: "eager" as const,
  // An audit asks ≤ min(2u, k − 1) inner states per sampled interval (u = 35 by default: ≤ 70), so
  // ≤ 2240 for 8 samples on each of the 4 default seats held by one account; a dispute's search
  // adds ≤ k − 1. 4096 covers both for k ≤ 1857 and bounds what one staked account can make us replay.
  stateQuota: 4096,
  stateRequestMaxTtlSec: 3_600,
  dryRun: false,
  logLevel: "info",
  metricsHost: DAEMON_DEFAULTS.metricsHost,
  maxHeadAgeSec: DAEMON_DEFAULTS.maxHeadAgeSec,
  allowPrivateArtifacts: false,
};

export type WorkerConfigInput = Partial<WorkerConfig> & Pick<WorkerConfig, "dataDir" | "jobMarket" | "acceptedTokens">;

/** Fills defaults and validates a programmatic config. */
export function workerConfig(input: WorkerConfigInput): WorkerConfig {
  const c: WorkerConfig = { ...WORKER_DEFAULTS, rpcUrls: [], ...input };
  if (c.rpcUrls.length === 0 && !c.eip1193) throw new WorkerConfigError("no RPC endpoint: give --rpc-url (or UPOW_RPC_URLS)");
  checkAddress("jobMarket", c.jobMarket);
  if (c.stakeManager) checkAddress("stakeManager", c.stakeManager);
  if (c.disputeManager) checkAddress("disputeManager", c.disputeManager);
  if (c.acceptedTokens.length === 0)
    throw new WorkerConfigError("no accepted payment token: give --accept-token <address>[:<min reward per TFLOP>]");
  for (const t of c.acceptedTokens) checkAddress("acceptedTokens", t.address);
  for (const [name, v, min] of [
    ["pollIntervalMs", c.pollIntervalMs, 1],
    ["threads", c.threads, 1],
    ["storePort", c.storePort, 0],
    ["startBlock", c.startBlock, 0],
    ["deadlineMarginSec", c.deadlineMarginSec, 0],
    ["stateQuota", c.stateQuota, 0],
    ["stateRequestMaxTtlSec", c.stateRequestMaxTtlSec, 1],
    ["maxHeadAgeSec", c.maxHeadAgeSec, 1],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw new WorkerConfigError(`${name} must be an integer ≥ ${min}`, { details: { [name]: v } });
  }
  if (c.confirmations !== "auto" && (!Number.isSafeInteger(c.confirmations) || c.confirmations < 0)) {
    throw new WorkerConfigError("confirmations must be an integer ≥ 0 or auto", { details: { confirmations: c.confirmations } });
  }
  if (c.metricsPort !== undefined && (!Number.isSafeInteger(c.metricsPort) || c.metricsPort < 0 || c.metricsPort > 65535)) {
    throw new WorkerConfigError("metricsPort must be 0-65535", { details: { metricsPort: c.metricsPort } });
  }
  if (c.storePort > 65535) throw new WorkerConfigError("storePort must be ≤ 65535", { details: { storePort: c.storePort } });
  if (!["cpu", "cuda", "webgpu"].includes(c.ep)) throw new WorkerConfigError("ep must be cpu, cuda or webgpu", { details: { ep: c.ep } });
  if (c.publicBaseUrl !== undefined) {
    try {
      // Verifiers refuse a base with userinfo, query or fragment; which addresses they accept is theirs to say.
      checkArtifactUrl(c.publicBaseUrl, { allowPrivate: true });
    } catch (cause) {
      throw new WorkerConfigError("publicBaseUrl must be an http(s) URL without userinfo, query or fragment", {
        cause,
        details: { publicBaseUrl: c.publicBaseUrl },
      });
    }
  }
  if (c.s3 !== undefined) {
    try {
      resolveS3Options(c.s3);
    } catch (cause) {
      throw new WorkerConfigError(`invalid S3 option: ${cause instanceof UPowError ? cause.shortMessage : String(cause)}`, {
        cause,
        details: { bucket: c.s3.bucket, prefix: c.s3.prefix },
      });
    }
  }
  return {
    ...c,
    jobMarket: getAddress(c.jobMarket),
    ...(c.stakeManager ? { stakeManager: getAddress(c.stakeManager) } : {}),
    ...(c.disputeManager ? { disputeManager: getAddress(c.disputeManager) } : {}),
    acceptedTokens: c.acceptedTokens.map((t) => ({ address: getAddress(t.address), minRewardPerTflop: t.minRewardPerTflop })),
  };
}

function checkAddress(name: string, v: string): void {
  if (typeof v !== "string" || !isAddress(v)) throw new WorkerConfigError(`${name} is not an address`, { details: { [name]: v } });
}
