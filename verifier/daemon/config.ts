/**
 * Verifier daemon configuration: one typed, validated object (`resolveVerifierConfig`, which fills
 * the defaults; tests build it directly). The options of `upow verifier start` that fill it are
 * cli/commands/verifierStart.ts.
 * Raw keys never appear here: the signer comes unlocked from the CLI, or from `UPOW_PRIVATE_KEY` or an encrypted keystore.
 */
import path from "node:path";
import { isAddress } from "ethers";
import type { Confirmations } from "../chain/confirmations";
import type { LoadedSigner } from "../chain/keys";
import type { Eip1193Provider } from "../chain/rpc";
import { DAEMON_DEFAULTS } from "../runtime/defaults";
import { VerifierConfigError } from "./errors";
import { DEFAULT_SINGLE_STEPS } from "./audit/steps";
import { COST_DEFAULTS } from "./check/spec";
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from "../engine/runner";

export interface VerifierConfig {
  /** JSON-RPC URLs, tried in order with fallback. */
  rpcUrls: string[];
  /** In-process EIP-1193 provider (tests: `hre.network.provider`), used after `rpcUrls`. */
  eip1193?: Eip1193Provider;
  jobMarket: string;
  auditManager: string;
  disputeManager: string;
  /** First block to scan on a fresh data dir (the deployment block). @default 0 */
  startBlock: number;
  /** Journal, cursor, artifacts and the instance lock live here. */
  dataDir: string;
  /** Reads and events at latest − confirmations; auto: 0 on a local dev chain, else 2 (chain/confirmations.ts). @default auto */
  confirmations: Confirmations;
  /** Blocks a sent transaction's receipt must be deep. @default 1 */
  txConfirmations: number;
  /** Loop period. @default 2000 */
  pollIntervalMs: number;
  /** getLogs range per call during backfill. @default 2000 */
  logChunkSize: number;
  /** Replays running at once. @default 2 */
  concurrency: number;
  /** Replays waiting at most (more: Busy). @default 16 */
  maxQueued: number;
  /** Time budget of one audit / locate / judge task (ms). @default 600000 */
  taskBudgetMs: number;
  /** Refuse jobs whose step the cost model puts above this many FLOPs (V8.1). @default 10^13 */
  maxFlopsPerStep: bigint;
  /** ...or above this peak-memory bound in bytes. @default 8 GiB */
  maxPeakBytes: bigint;
  /** Step budget: `stepBaseMs + flopsPerStep / minFlopsPerSecond` (V8.3). @default 1e8 */
  minFlopsPerSecond: number;
  /** @default 10000 */
  stepBaseMs: number;
  /** Audit every submitted job with this node's own sample. @default true */
  audit: boolean;
  /** Open disputes when an audit fails (bonds!). @default true */
  challenge: boolean;
  /** Call permissionless timeouts/finalize even when only others gain. @default true */
  callTimeouts: boolean;
  /** Appeal (with the appeal bond) a ruling against this node's challenge. @default false */
  appeal: boolean;
  /** A sampled artifact that cannot be fetched is retried for this long before it counts as not served. @default 120000 */
  unservedGraceMs: number;
  /** ...and over at least this many audit attempts. @default 3 */
  unservedMinAttempts: number;
  /** Single steps checked per sampled interval, chosen from the audit seed (v3 V7.2). @default 35 (DEFAULT_SINGLE_STEPS) */
  singleSteps: number;
  /** Lifetime of this node's signed state requests to workers (V7.1), seconds. @default 300 */
  stateRequestTtlSec: number;
  /** Do not start a step within this many seconds of its deadline. @default 5 */
  deadlineMarginSec: number;
  /** Simulate and log transactions, send none. @default false */
  dryRun: boolean;
  /** Serve /metrics and /healthz on this port (0: a free one); undefined: off. */
  metricsPort?: number;
  /** @default 127.0.0.1 */
  metricsHost: string;
  /** /healthz fails when the latest head is older than this, seconds. @default 300 */
  maxHeadAgeSec: number;
  /** Chain id of the deployments file: the start-up check refuses an RPC on another chain. */
  expectedChainId?: number;
  /** The key, already unlocked (the CLI unlocks it first to name the default data dir); wins over env and keystore. */
  signer?: LoadedSigner;
  /** Encrypted JSON keystore (when UPOW_PRIVATE_KEY is unset). */
  keystore?: string;
  /** File with the keystore password (else UPOW_KEYSTORE_PASSWORD). */
  passwordFile?: string;
  /** Environment the key is read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Per-try timeout of artifact fetches (ms). @default 30000 */
  artifactTimeoutMs: number;
  /** Extra rounds of artifact fetches. @default 2 */
  artifactRetries: number;
  /** Fetch job-named artifacts from loopback, link-local and private addresses too (tests, a local demo; V8.4). @default false */
  allowPrivateArtifacts: boolean;
  /** RPC per-request timeout (ms). @default 10000 */
  rpcTimeoutMs: number;
  /** pino level. @default info */
  logLevel: string;
  /** Keeper: checkpoint / reveal / request the seeds of followed draws (docs/randomness.md). @default true */
  keepRandomness: boolean;
  /** Keeper: reopen this node's disputes that ended Void (v3 V2.3). @default true */
  reopenVoided: boolean;
  /** Keeper: settle answered availability challenges and withdraw DataAvailability credits. @default true */
  settleAvailability: boolean;
  /** Challenger: after an Indeterminate ruling, pinpoint again (v3 V9.3, up to 3 steps). @default true */
  repinpoint: boolean;
  /** Which randomness source is deployed; `auto` probes the contract. @default auto */
  randomnessSource: "auto" | "blockhash" | "prevrandao" | "l1origin" | "vrf";
  /** L1 JSON-RPC URLs (l1origin only): the headers of L1 seed blocks. */
  l1RpcUrls: string[];
  /**
   * Execution provider of the juror's second run (V9.1 a²). Another kernel implementation than the
   * CPU reference measures the step's cross-implementation noise, so its 2·‖a¹ − a²‖ margin covers
   * honest workers on that implementation (docs/tolerance.md). @default cpu (2 threads, opt basic)
   */
  jurorEp: ExecutionProviderName;
}

export const VERIFIER_DEFAULTS = {
  startBlock: 0,
  confirmations: DAEMON_DEFAULTS.confirmations,
  txConfirmations: 1,
  pollIntervalMs: DAEMON_DEFAULTS.pollIntervalMs,
  logChunkSize: 2000,
  concurrency: 2,
  maxQueued: 16,
  taskBudgetMs: 600_000,
  audit: true,
  challenge: true,
  callTimeouts: true,
  appeal: false,
  unservedGraceMs: 120_000,
  unservedMinAttempts: 3,
  singleSteps: DEFAULT_SINGLE_STEPS,
  stateRequestTtlSec: 300,
  deadlineMarginSec: 5,
  dryRun: false,
  metricsHost: "127.0.0.1",
  maxHeadAgeSec: 300,
  artifactTimeoutMs: 30_000,
  artifactRetries: 2,
  allowPrivateArtifacts: false,
  rpcTimeoutMs: 10_000,
  logLevel: "info",
  ...COST_DEFAULTS,
  keepRandomness: true,
  reopenVoided: true,
  settleAvailability: true,
  repinpoint: true,
  randomnessSource: "auto",
  jurorEp: "cpu",
} as const;

export type VerifierConfigInput = Partial<VerifierConfig> &
  Pick<VerifierConfig, "jobMarket" | "auditManager" | "disputeManager" | "dataDir">;

/** Fill defaults and check every value; throws VerifierConfigError naming the field. */
export function resolveVerifierConfig(input: VerifierConfigInput): VerifierConfig {
  const c = { rpcUrls: [], l1RpcUrls: [], ...VERIFIER_DEFAULTS, ...stripUndefined(input) } as VerifierConfig;
  const bad = (field: string, why: string, value?: unknown) =>
    new VerifierConfigError(`config ${field} ${why}`, { details: { field, value: value === undefined ? undefined : String(value) } });
  if (c.rpcUrls.length === 0 && !c.eip1193) throw bad("rpcUrls", "needs at least one RPC URL (--rpc-url or UPOW_RPC_URLS)");
  for (const f of ["jobMarket", "auditManager", "disputeManager"] as const) {
    if (!isAddress(c[f])) throw bad(f, "must be an address", c[f]);
  }
  if (!c.dataDir) throw bad("dataDir", "is required");
  const ints: [keyof VerifierConfig, number][] = [
    ["startBlock", 0],
    ["txConfirmations", 1],
    ["pollIntervalMs", 1],
    ["logChunkSize", 1],
    ["concurrency", 1],
    ["maxQueued", 0],
    ["taskBudgetMs", 1],
    ["unservedGraceMs", 0],
    ["unservedMinAttempts", 1],
    ["singleSteps", 0],
    ["stateRequestTtlSec", 1],
    ["deadlineMarginSec", 0],
    ["artifactTimeoutMs", 1],
    ["artifactRetries", 0],
    ["rpcTimeoutMs", 1],
    ["maxHeadAgeSec", 1],
  ];
  for (const [f, min] of ints) {
    const v = c[f];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw bad(f, `must be an integer ≥ ${min}`, v);
  }
  if (c.confirmations !== "auto" && (!Number.isSafeInteger(c.confirmations) || c.confirmations < 0))
    throw bad("confirmations", "must be an integer ≥ 0 or auto", c.confirmations);
  for (const f of ["maxFlopsPerStep", "maxPeakBytes"] as const) {
    if (typeof c[f] !== "bigint" || c[f] < 1n) throw bad(f, "must be a positive integer", c[f]);
  }
  if (!(c.minFlopsPerSecond > 0) || !Number.isFinite(c.minFlopsPerSecond))
    throw bad("minFlopsPerSecond", "must be a positive number", c.minFlopsPerSecond);
  if (!Number.isSafeInteger(c.stepBaseMs) || c.stepBaseMs < 0) throw bad("stepBaseMs", "must be an integer ≥ 0", c.stepBaseMs);
  if (c.metricsPort !== undefined && (!Number.isInteger(c.metricsPort) || c.metricsPort < 0 || c.metricsPort > 65535))
    throw bad("metricsPort", "must be 0-65535", c.metricsPort);
  if (!EXECUTION_PROVIDERS.includes(c.jurorEp)) throw bad("jurorEp", `must be one of ${EXECUTION_PROVIDERS.join(", ")}`, c.jurorEp);
  if (!["auto", "blockhash", "prevrandao", "l1origin", "vrf"].includes(c.randomnessSource))
    throw bad("randomnessSource", "must be auto, blockhash, prevrandao, l1origin or vrf", c.randomnessSource);
  if (!["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(c.logLevel))
    throw bad("logLevel", "is not a pino level", c.logLevel);
  return { ...c, dataDir: path.resolve(c.dataDir) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
