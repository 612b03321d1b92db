/**
 * Verifier daemon configuration: one typed, validated object (`resolveVerifierConfig`, which fills
 * the defaults; tests build it directly), and `verifierStartCommand`, the options of
 * `upow verifier start` (the shared daemon flags of cli/daemonOptions.ts with env fallbacks and a
 * `--config` file, plus the verifier's own), registered in cli/commands/verifier.ts.
 * Raw keys never appear here: the signer comes unlocked from the CLI, or from `UPOW_PRIVATE_KEY` or an encrypted keystore.
 */
import path from "node:path";
import { Command, Option } from "commander";
import { isAddress } from "ethers";
import type { Logger } from "pino";
import type { Confirmations } from "../chain/confirmations";
import type { LoadedSigner } from "../chain/keys";
import type { Eip1193Provider } from "../chain/rpc";
import { addDaemonOptions, DAEMON_DEFAULTS, daemonContracts, unlockDaemon, type DaemonCliOptions } from "../cli/daemonOptions";
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

const DEFAULTS = {
  startBlock: 0, confirmations: DAEMON_DEFAULTS.confirmations, txConfirmations: 1, pollIntervalMs: DAEMON_DEFAULTS.pollIntervalMs, logChunkSize: 2000, concurrency: 2, maxQueued: 16,
  taskBudgetMs: 600_000, audit: true, challenge: true, callTimeouts: true, appeal: false, unservedGraceMs: 120_000, unservedMinAttempts: 3, singleSteps: DEFAULT_SINGLE_STEPS, stateRequestTtlSec: 300, deadlineMarginSec: 5, dryRun: false,
  metricsHost: "127.0.0.1", maxHeadAgeSec: 300, artifactTimeoutMs: 30_000, artifactRetries: 2, allowPrivateArtifacts: false, rpcTimeoutMs: 10_000, logLevel: "info", ...COST_DEFAULTS,
  keepRandomness: true, reopenVoided: true, settleAvailability: true, repinpoint: true, randomnessSource: "auto", jurorEp: "cpu",
} as const;

export type VerifierConfigInput = Partial<VerifierConfig> & Pick<VerifierConfig, "jobMarket" | "auditManager" | "disputeManager" | "dataDir">;

/** Fill defaults and check every value; throws VerifierConfigError naming the field. */
export function resolveVerifierConfig(input: VerifierConfigInput): VerifierConfig {
  const c = { rpcUrls: [], l1RpcUrls: [], ...DEFAULTS, ...stripUndefined(input) } as VerifierConfig;
  const bad = (field: string, why: string, value?: unknown) => new VerifierConfigError(`config ${field} ${why}`, { details: { field, value: value === undefined ? undefined : String(value) } });
  if (c.rpcUrls.length === 0 && !c.eip1193) throw bad("rpcUrls", "needs at least one RPC URL (--rpc-url or UPOW_RPC_URLS)");
  for (const f of ["jobMarket", "auditManager", "disputeManager"] as const) {
    if (!isAddress(c[f])) throw bad(f, "must be an address", c[f]);
  }
  if (!c.dataDir) throw bad("dataDir", "is required");
  const ints: [keyof VerifierConfig, number][] = [
    ["startBlock", 0], ["txConfirmations", 1], ["pollIntervalMs", 1], ["logChunkSize", 1], ["concurrency", 1],
    ["maxQueued", 0], ["taskBudgetMs", 1], ["unservedGraceMs", 0], ["unservedMinAttempts", 1], ["singleSteps", 0], ["stateRequestTtlSec", 1], ["deadlineMarginSec", 0], ["artifactTimeoutMs", 1], ["artifactRetries", 0], ["rpcTimeoutMs", 1], ["maxHeadAgeSec", 1],
  ];
  for (const [f, min] of ints) {
    const v = c[f];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw bad(f, `must be an integer ≥ ${min}`, v);
  }
  if (c.confirmations !== "auto" && (!Number.isSafeInteger(c.confirmations) || c.confirmations < 0)) throw bad("confirmations", "must be an integer ≥ 0 or auto", c.confirmations);
  for (const f of ["maxFlopsPerStep", "maxPeakBytes"] as const) {
    if (typeof c[f] !== "bigint" || c[f] < 1n) throw bad(f, "must be a positive integer", c[f]);
  }
  if (!(c.minFlopsPerSecond > 0) || !Number.isFinite(c.minFlopsPerSecond)) throw bad("minFlopsPerSecond", "must be a positive number", c.minFlopsPerSecond);
  if (!Number.isSafeInteger(c.stepBaseMs) || c.stepBaseMs < 0) throw bad("stepBaseMs", "must be an integer ≥ 0", c.stepBaseMs);
  if (c.metricsPort !== undefined && (!Number.isInteger(c.metricsPort) || c.metricsPort < 0 || c.metricsPort > 65535)) throw bad("metricsPort", "must be 0-65535", c.metricsPort);
  if (!EXECUTION_PROVIDERS.includes(c.jurorEp)) throw bad("jurorEp", `must be one of ${EXECUTION_PROVIDERS.join(", ")}`, c.jurorEp);
  if (!["auto", "blockhash", "prevrandao", "l1origin", "vrf"].includes(c.randomnessSource)) throw bad("randomnessSource", "must be auto, blockhash, prevrandao, l1origin or vrf", c.randomnessSource);
  if (!["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(c.logLevel)) throw bad("logLevel", "is not a pino level", c.logLevel);
  return { ...c, dataDir: path.resolve(c.dataDir) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const bigint = (v: string) => {
  if (!/^[0-9]+$/.test(v)) throw new VerifierConfigError("expected a non-negative integer", { details: { value: v } });
  return BigInt(v);
};

const int = (v: string) => {
  if (!/^\d+$/.test(v)) throw new VerifierConfigError("expected a non-negative integer", { details: { value: v } });
  return Number(v);
};

/** The `verifier start` options: the shared daemon flags (verifier/cli/daemonOptions.ts) and the verifier's own. */
export function verifierStartCommand(run: (config: VerifierConfig, logger: Logger) => Promise<void>): Command {
  const opt = (flags: string, help: string, env: string) => new Option(flags, help).env(env);
  const cmd = addDaemonOptions(
    new Command("start").description("run the verifier daemon: audit submitted jobs, challenge cheats, serve on committees (docs/verifier.md)"),
    "verifier",
  );
  return cmd
    .addOption(opt("--audit-manager <address>", "AuditManager address (overrides --deployments)", "UPOW_AUDIT_MANAGER"))
    .addOption(opt("--tx-confirmations <n>", `receipt depth before a tx counts (default ${DEFAULTS.txConfirmations})`, "UPOW_TX_CONFIRMATIONS").argParser(int))
    .addOption(opt("--concurrency <n>", `replays at once (default ${DEFAULTS.concurrency})`, "UPOW_CONCURRENCY").argParser(int))
    .addOption(opt("--max-queued <n>", `replays waiting at most, more are refused as busy (default ${DEFAULTS.maxQueued})`, "UPOW_MAX_QUEUED").argParser(int))
    .addOption(opt("--task-budget-ms <ms>", `time budget of one audit/judge task (default ${DEFAULTS.taskBudgetMs})`, "UPOW_TASK_BUDGET_MS").argParser(int))
    .addOption(opt("--max-flops-per-step <n>", `refuse jobs whose step costs more FLOPs under the cost model (default ${DEFAULTS.maxFlopsPerStep})`, "UPOW_MAX_FLOPS_PER_STEP").argParser(bigint))
    .addOption(opt("--max-peak-bytes <n>", `refuse jobs whose step may need more memory (default ${DEFAULTS.maxPeakBytes})`, "UPOW_MAX_PEAK_BYTES").argParser(bigint))
    .addOption(opt("--min-flops-per-second <n>", `rate step budgets assume; a slower step is killed (default ${DEFAULTS.minFlopsPerSecond})`, "UPOW_MIN_FLOPS_PER_SECOND").argParser(int))
    .addOption(opt("--step-base-ms <ms>", `added to every step budget (default ${DEFAULTS.stepBaseMs})`, "UPOW_STEP_BASE_MS").argParser(int))
    .addOption(opt("--no-audit", "do not audit jobs on its own (assigned audits and jury duty still run)", "UPOW_NO_AUDIT"))
    .addOption(opt("--no-challenge", "never open disputes", "UPOW_NO_CHALLENGE"))
    .addOption(opt("--no-call-timeouts", "only call permissionless timeouts that pay this node", "UPOW_NO_CALL_TIMEOUTS"))
    .addOption(opt("--appeal", "appeal (paying the appeal bond) a ruling against this node's challenge", "UPOW_APPEAL"))
    .addOption(opt("--unserved-grace-ms <ms>", `retry unfetchable sampled artifacts this long before challenging (default ${DEFAULTS.unservedGraceMs})`, "UPOW_UNSERVED_GRACE_MS").argParser(int))
    .addOption(opt("--unserved-min-attempts <n>", `...and over at least this many audit attempts (default ${DEFAULTS.unservedMinAttempts})`, "UPOW_UNSERVED_MIN_ATTEMPTS").argParser(int))
    .addOption(opt("--single-steps <u>", `single steps checked per sampled interval, besides its k-step replay (default ${DEFAULTS.singleSteps})`, "UPOW_SINGLE_STEPS").argParser(int))
    .addOption(opt("--state-request-ttl <s>", `lifetime of signed state requests to workers, seconds (default ${DEFAULTS.stateRequestTtlSec})`, "UPOW_STATE_REQUEST_TTL").argParser(int))
    .addOption(opt("--log-chunk-size <n>", `getLogs block range per call during backfill (default ${DEFAULTS.logChunkSize})`, "UPOW_LOG_CHUNK_SIZE").argParser(int))
    .addOption(opt("--no-keep-randomness", "do not checkpoint/reveal/request draw seeds (keeper)", "UPOW_NO_KEEP_RANDOMNESS"))
    .addOption(opt("--no-reopen-voided", "do not reopen this node's voided disputes (keeper)", "UPOW_NO_REOPEN_VOIDED"))
    .addOption(opt("--no-settle-availability", "do not settle availability challenges or withdraw their credits (keeper)", "UPOW_NO_SETTLE_AVAILABILITY"))
    .addOption(opt("--no-repinpoint", "do not pinpoint again after an Indeterminate ruling", "UPOW_NO_REPINPOINT"))
    .addOption(opt("--juror-ep <ep>", `execution provider of the juror's second run: ${EXECUTION_PROVIDERS.join(", ")} (default ${DEFAULTS.jurorEp}); another implementation than the CPU reference acquits honest workers on it (docs/tolerance.md)`, "UPOW_JUROR_EP"))
    .addOption(opt("--randomness-source <source>", "auto (probe the contract), blockhash, prevrandao, l1origin or vrf", "UPOW_RANDOMNESS_SOURCE"))
    .addOption(opt("--l1-rpc-url <url...>", "L1 JSON-RPC URL(s) for L1 seed headers (l1origin)", "UPOW_L1_RPC_URLS").argParser((v: string, prev?: string[]) => [...(prev ?? []), ...v.split(",").filter(Boolean)]))
    .action(async (o: DaemonCliOptions & Record<string, unknown>) => {
      const dep = daemonContracts(o);
      const address = (flag: string, v: string | undefined): string => {
        if (v === undefined) throw new VerifierConfigError(`no ${flag} address: give --deployments <file> or --${flag}`, { details: { field: flag } });
        return v;
      };
      const input = {
        rpcUrls: o.rpcUrl,
        jobMarket: address("job-market", o.jobMarket ?? dep.jobMarket),
        auditManager: address("audit-manager", (o.auditManager as string | undefined) ?? dep.auditManager),
        disputeManager: address("dispute-manager", o.disputeManager ?? dep.disputeManager),
        startBlock: o.startBlock ?? dep.startBlock,
        expectedChainId: dep.chainId,
        confirmations: o.confirmations,
        txConfirmations: o.txConfirmations as number | undefined,
        pollIntervalMs: o.pollInterval,
        concurrency: o.concurrency as number | undefined,
        maxQueued: o.maxQueued as number | undefined,
        taskBudgetMs: o.taskBudgetMs as number | undefined,
        maxFlopsPerStep: o.maxFlopsPerStep as bigint | undefined,
        maxPeakBytes: o.maxPeakBytes as bigint | undefined,
        minFlopsPerSecond: o.minFlopsPerSecond as number | undefined,
        stepBaseMs: o.stepBaseMs as number | undefined,
        audit: o.audit as boolean | undefined,
        challenge: o.challenge as boolean | undefined,
        callTimeouts: o.callTimeouts as boolean | undefined,
        dryRun: o.dryRun === true,
        appeal: o.appeal === true,
        unservedGraceMs: o.unservedGraceMs as number | undefined,
        unservedMinAttempts: o.unservedMinAttempts as number | undefined,
        singleSteps: o.singleSteps as number | undefined,
        stateRequestTtlSec: o.stateRequestTtl as number | undefined,
        logChunkSize: o.logChunkSize as number | undefined,
        metricsPort: o.metricsPort,
        metricsHost: o.metricsHost,
        logLevel: o.logLevel,
        maxHeadAgeSec: o.maxHeadAge,
        keepRandomness: o.keepRandomness as boolean | undefined,
        reopenVoided: o.reopenVoided as boolean | undefined,
        settleAvailability: o.settleAvailability as boolean | undefined,
        repinpoint: o.repinpoint as boolean | undefined,
        randomnessSource: o.randomnessSource as VerifierConfig["randomnessSource"] | undefined,
        jurorEp: o.jurorEp as VerifierConfig["jurorEp"] | undefined,
        l1RpcUrls: o.l1RpcUrl as string[] | undefined,
        allowPrivateArtifacts: o.allowPrivateArtifacts === true,
      };
      const { config, logger } = await unlockDaemon(o, "verifier", (dataDir, signer) => resolveVerifierConfig({ ...input, dataDir, ...(signer ? { signer } : {}) }));
      await run(config, logger);
    });
}
