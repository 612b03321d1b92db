/**
 * Worker configuration: commander flags with environment fallbacks and a config file (the shared
 * daemon shape of verifier/cli/daemonOptions.ts, documented in `--help` and docs/worker.md),
 * parsed into one typed, validated object. Programmatic callers (tests) build the object directly
 * with `workerConfig({...})`, which fills the same defaults.
 */
import { Command, Option } from "commander";
import { getAddress, isAddress } from "ethers";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import type { Confirmations } from "../chain/confirmations";
import type { LoadedSigner } from "../chain/keys";
import type { Eip1193Provider } from "../chain/rpc";
import { deployedAddress, loadDeployment, type ContractKey } from "../chain/registry";
import { addDaemonOptions, DAEMON_DEFAULTS, daemonContracts, unlockDaemon, type DaemonCliOptions } from "../cli/daemonOptions";
import type { ExecutionProviderName } from "../engine/runner";
import { checkArtifactUrl } from "../store";
import { resolveS3Options, type S3StoreOptions } from "../store/s3Options";
import { parseCheatMode, type CheatMode } from "./cheats";

export class WorkerConfigError extends UPowError {
  override readonly name = "WorkerConfigError";
}

export interface AcceptedToken {
  readonly address: string;
  /** Minimum reward per TFLOP of the whole job (T · flopsPerStep), in the token's base units. */
  readonly minRewardPerTflop: bigint;
}

/** Where the worker mirrors what it publishes (docs/worker.md); credentials: the AWS SDK's chain unless given (tests). */
export type WorkerS3Config = Pick<S3StoreOptions, "bucket" | "prefix" | "endpoint" | "region" | "forcePathStyle" | "publicBaseUrl" | "credentials" | "multipartThresholdBytes">;

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
  if (c.acceptedTokens.length === 0) throw new WorkerConfigError("no accepted payment token: give --accept-token <address>[:<min reward per TFLOP>]");
  for (const t of c.acceptedTokens) checkAddress("acceptedTokens", t.address);
  for (const [name, v, min] of [
    ["pollIntervalMs", c.pollIntervalMs, 1], ["threads", c.threads, 1],
    ["storePort", c.storePort, 0], ["startBlock", c.startBlock, 0], ["deadlineMarginSec", c.deadlineMarginSec, 0],
    ["stateQuota", c.stateQuota, 0], ["stateRequestMaxTtlSec", c.stateRequestMaxTtlSec, 1], ["maxHeadAgeSec", c.maxHeadAgeSec, 1],
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
      throw new WorkerConfigError("publicBaseUrl must be an http(s) URL without userinfo, query or fragment", { cause, details: { publicBaseUrl: c.publicBaseUrl } });
    }
  }
  if (c.s3 !== undefined) {
    try {
      resolveS3Options(c.s3);
    } catch (cause) {
      throw new WorkerConfigError(`invalid S3 option: ${cause instanceof UPowError ? cause.shortMessage : String(cause)}`, { cause, details: { bucket: c.s3.bucket, prefix: c.s3.prefix } });
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

// ---- commander ---------------------------------------------------------------------------------

/** Token keys of a deployments file that `--accept-token` may name instead of an address. */
const TOKEN_KEYS: readonly ContractKey[] = ["PaymentToken", "StakingToken"];

/**
 * `<token>[:<min reward per TFLOP>]`, e.g. `0xabc…:1000000` or `PaymentToken`: a token key is read
 * from `--deployments` through the registry's loader (no second reader of the file).
 */
function parseAcceptedToken(s: string, deploymentsFile: string | undefined): AcceptedToken {
  const [token, min] = s.split(":");
  let address: string;
  if (token !== undefined && (TOKEN_KEYS as readonly string[]).includes(token)) {
    if (deploymentsFile === undefined) throw new WorkerConfigError(`--accept-token ${token} names a token of the deployments file: give --deployments <file>`, { details: { value: s } });
    address = deployedAddress(loadDeployment({ file: deploymentsFile }), token as ContractKey, deploymentsFile);
  } else if (token && isAddress(token)) {
    address = getAddress(token);
  } else {
    throw new WorkerConfigError(`--accept-token needs <address|${TOKEN_KEYS.join("|")}>[:<min reward per TFLOP>]`, { details: { value: s } });
  }
  if (min !== undefined && !/^[0-9]+$/.test(min)) throw new WorkerConfigError("minimum reward per TFLOP must be a non-negative integer", { details: { value: s } });
  return { address, minRewardPerTflop: BigInt(min ?? "0") };
}

function bigintArg(name: string): (v: string) => bigint {
  return (v) => {
    if (!/^[0-9]+(e[0-9]+)?$/i.test(v)) throw new WorkerConfigError(`${name} must be a non-negative integer`, { details: { value: v } });
    const [m, e] = v.toLowerCase().split("e");
    return BigInt(m!) * 10n ** BigInt(e ?? "0");
  };
}

function intArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new WorkerConfigError(`${name} must be a non-negative integer`, { details: { value: v } });
    return n;
  };
}

/**
 * `upow worker start`: the shared daemon flags and the worker's own; `run` gets the validated config
 * with the key unlocked, and the `--cheat` mode (tests/demo only; null: honest) for the caller to
 * wire in as the worker's behaviour.
 */
export function workerStartCommand(run: (config: WorkerConfig, logger: Logger, cheat: CheatMode | null) => Promise<void>): Command {
  const cmd = addDaemonOptions(
    new Command("start").description("watch the JobMarket, claim jobs this machine accepts, train, submit, answer disputes, finalize and withdraw"),
    "worker",
  );
  const env = (o: Option, name: string): Option => o.env(name);
  return cmd
    .addOption(env(new Option("--stake-manager <address>", "StakeManager address (overrides --deployments)"), "UPOW_STAKE_MANAGER"))
    .addOption(env(new Option("--accept-token <token...>", "accepted payment token(s): <address|PaymentToken|StakingToken>[:<min reward per TFLOP, base units>] (a token key is read from --deployments)"), "UPOW_ACCEPT_TOKENS"))
    .addOption(new Option("--max-flops-per-step <n>", "refuse jobs above this many FLOPs per step").argParser(bigintArg("--max-flops-per-step")).default(WORKER_DEFAULTS.maxFlopsPerStep, "1e12"))
    .addOption(new Option("--max-job-flops <n>", "refuse jobs above this many FLOPs in total").argParser(bigintArg("--max-job-flops")).default(WORKER_DEFAULTS.maxJobFlops, "1e16"))
    .addOption(new Option("--max-state-bytes <n>", "refuse jobs whose state is larger").argParser(bigintArg("--max-state-bytes")).default(WORKER_DEFAULTS.maxStateBytes, "1 GiB"))
    .addOption(new Option("--max-artifact-bytes <n>", "refuse jobs whose graph + data are larger").argParser(bigintArg("--max-artifact-bytes")).default(WORKER_DEFAULTS.maxArtifactBytes, "4 GiB"))
    .addOption(new Option("--max-collateral <n>", "refuse jobs asking more collateral (staking token base units)").argParser(bigintArg("--max-collateral")))
    .addOption(env(new Option("--ep <name>", "onnxruntime execution provider").choices(["cpu", "cuda", "webgpu"]).default("cpu"), "UPOW_EP"))
    .addOption(new Option("--threads <n>", "intra-op threads (fixed: results must be reproducible)").argParser(intArg("--threads")).default(1))
    .addOption(env(new Option("--public-url <url>", "base URL where others reach this worker's artifact store"), "UPOW_PUBLIC_URL"))
    .addOption(env(new Option("--store-host <host>", "artifact store listen address").default(WORKER_DEFAULTS.storeHost), "UPOW_STORE_HOST"))
    .addOption(env(new Option("--store-port <port>", "artifact store port (0: any free port)").argParser(intArg("--store-port")).default(0), "UPOW_STORE_PORT"))
    .addOption(env(new Option("--s3-bucket <name>", "also publish artifacts to this S3-compatible bucket (credentials: the AWS SDK's chain, e.g. AWS_ACCESS_KEY_ID)"), "UPOW_S3_BUCKET"))
    .addOption(env(new Option("--s3-prefix <prefix>", "key prefix in the bucket (objects: <prefix>/artifacts/<sha256>)"), "UPOW_S3_PREFIX"))
    .addOption(env(new Option("--s3-endpoint <url>", "S3 API endpoint for MinIO, R2, ... (default: AWS S3; path-style addressing when set)"), "UPOW_S3_ENDPOINT"))
    .addOption(env(new Option("--s3-region <region>", "bucket region (default: AWS_REGION, else us-east-1)"), "UPOW_S3_REGION"))
    .addOption(env(new Option("--s3-public-base-url <url>", "URL readers fetch <url>/artifacts/<sha256> from anonymously (default: <endpoint>/<bucket>/<prefix>, or the AWS virtual-hosted URL)"), "UPOW_S3_PUBLIC_BASE_URL"))
    .addOption(new Option("--publish-steps <when>", "publish every step state at submission or only for disputed intervals").choices(["eager", "on-dispute"]).default("eager"))
    .addOption(new Option("--state-quota <n>", "step states one auditor/challenger/juror may fetch per job by signed request").argParser(intArg("--state-quota")).default(WORKER_DEFAULTS.stateQuota))
    .addOption(new Option("--state-request-max-ttl <s>", "longest accepted lifetime of a signed state request, seconds").argParser(intArg("--state-request-max-ttl")).default(WORKER_DEFAULTS.stateRequestMaxTtlSec))
    .addOption(new Option("--cheat <mode>", "ADVERSARIAL, for tests/demos only: skip=<fraction> | noise=<magnitude> | withhold | precision=fp16|bf16|tf32 | partial=<kept fraction> | reuse | noupdate | drift=<multiple of the bound> | index=<mode>[+<cheat>] (docs/worker.md)"))
    .action(async (o: WorkerCliOptions) => {
      const input = workerInputFromCli(o);
      const cheat = o.cheat ? parseCheatMode(o.cheat) : null;
      const { config, logger } = await unlockDaemon(o, "worker", (dataDir, signer) => workerConfig({ ...input, dataDir, ...(signer ? { signer } : {}) }));
      await run(config, logger, cheat);
    });
}

export interface WorkerCliOptions extends DaemonCliOptions {
  stakeManager?: string;
  acceptToken?: string[] | string;
  maxFlopsPerStep: bigint;
  maxJobFlops: bigint;
  maxStateBytes: bigint;
  maxArtifactBytes: bigint;
  maxCollateral?: bigint;
  ep: ExecutionProviderName;
  threads: number;
  publicUrl?: string;
  storeHost: string;
  storePort: number;
  s3Bucket?: string;
  s3Prefix?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3PublicBaseUrl?: string;
  publishSteps: "eager" | "on-dispute";
  stateQuota: number;
  stateRequestMaxTtl: number;
  cheat?: string;
}

function list(v: string[] | string | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(/[,\s]+/)).filter((s) => s.length > 0);
}

/** Parsed CLI options → the worker's config input (everything but the data dir and the key). */
function workerInputFromCli(o: WorkerCliOptions): Omit<WorkerConfigInput, "dataDir"> {
  const dep = daemonContracts(o);
  const jobMarket = o.jobMarket ?? dep.jobMarket;
  if (!jobMarket) throw new WorkerConfigError("no JobMarket address: give --deployments <file> or --job-market");
  const stakeManager = o.stakeManager ?? dep.stakeManager;
  const disputeManager = o.disputeManager ?? dep.disputeManager;
  const startBlock = o.startBlock ?? dep.startBlock;
  return {
    rpcUrls: o.rpcUrl ?? [],
    jobMarket,
    ...(stakeManager ? { stakeManager } : {}),
    ...(disputeManager ? { disputeManager } : {}),
    ...(dep.chainId !== undefined ? { expectedChainId: dep.chainId } : {}),
    maxFlopsPerStep: o.maxFlopsPerStep,
    maxJobFlops: o.maxJobFlops,
    maxStateBytes: o.maxStateBytes,
    maxArtifactBytes: o.maxArtifactBytes,
    ...(o.maxCollateral !== undefined ? { maxCollateral: o.maxCollateral } : {}),
    acceptedTokens: list(o.acceptToken).map((t) => parseAcceptedToken(t, o.deployments)),
    ep: o.ep,
    threads: o.threads,
    ...(o.publicUrl ? { publicBaseUrl: o.publicUrl } : {}),
    allowPrivateArtifacts: o.allowPrivateArtifacts === true,
    storeHost: o.storeHost,
    storePort: o.storePort,
    ...s3FromCli(o),
    confirmations: o.confirmations,
    pollIntervalMs: o.pollInterval,
    ...(startBlock !== undefined ? { startBlock } : {}),
    publishSteps: o.publishSteps,
    stateQuota: o.stateQuota,
    stateRequestMaxTtlSec: o.stateRequestMaxTtl,
    dryRun: o.dryRun === true,
    logLevel: o.logLevel,
    ...(o.metricsPort !== undefined ? { metricsPort: o.metricsPort } : {}),
    metricsHost: o.metricsHost,
    maxHeadAgeSec: o.maxHeadAge,
  };
}

/** The `--s3-*` options; any of them without `--s3-bucket` is a mistake, not a silent no-op. */
function s3FromCli(o: WorkerCliOptions): { s3?: WorkerS3Config } {
  const rest = { prefix: o.s3Prefix, endpoint: o.s3Endpoint, region: o.s3Region, publicBaseUrl: o.s3PublicBaseUrl };
  const given = Object.entries(rest).filter(([, v]) => v !== undefined);
  if (o.s3Bucket === undefined) {
    if (given.length > 0) throw new WorkerConfigError("--s3-* options need --s3-bucket (or UPOW_S3_BUCKET)", { details: { given: given.map(([k]) => k) } });
    return {};
  }
  return { s3: { bucket: o.s3Bucket, ...Object.fromEntries(given) } };
}
