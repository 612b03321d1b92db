/**
 * `upow worker start`: the shared daemon flags (cli/daemonOptions.ts: env fallbacks, a config
 * file) and the worker's own, parsed into the worker's validated config (worker/config.ts) and the
 * `--cheat` mode (tests and the demo only), documented in `--help` and docs/worker.md.
 */
import { Command, Option } from "commander";
import { getAddress, isAddress } from "ethers";
import type { Logger } from "pino";
import { deployedAddress, loadDeployment, type ContractKey } from "../../chain/registry";
import type { ExecutionProviderName } from "../../engine/runner";
import { parseCheatMode, type CheatMode } from "../../worker/cheats";
import {
  WORKER_DEFAULTS,
  WorkerConfigError,
  workerConfig,
  type AcceptedToken,
  type WorkerConfig,
  type WorkerConfigInput,
  type WorkerS3Config,
} from "../../worker/config";
import { addDaemonOptions, daemonContracts, unlockDaemon, type DaemonCliOptions } from "../daemonOptions";

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
    if (deploymentsFile === undefined)
      throw new WorkerConfigError(`--accept-token ${token} names a token of the deployments file: give --deployments <file>`, {
        details: { value: s },
      });
    address = deployedAddress(loadDeployment({ file: deploymentsFile }), token as ContractKey, deploymentsFile);
  } else if (token && isAddress(token)) {
    address = getAddress(token);
  } else {
    throw new WorkerConfigError(`--accept-token needs <address|${TOKEN_KEYS.join("|")}>[:<min reward per TFLOP>]`, {
      details: { value: s },
    });
  }
  if (min !== undefined && !/^[0-9]+$/.test(min))
    throw new WorkerConfigError("minimum reward per TFLOP must be a non-negative integer", { details: { value: s } });
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
    new Command("start").description(
      "watch the JobMarket, claim jobs this machine accepts, train, submit, answer disputes, finalize and withdraw",
    ),
    "worker",
  );
  const env = (o: Option, name: string): Option => o.env(name);
  return cmd
    .addOption(env(new Option("--stake-manager <address>", "StakeManager address (overrides --deployments)"), "UPOW_STAKE_MANAGER"))
    .addOption(
      env(
        new Option(
          "--accept-token <token...>",
          "accepted payment token(s): <address|PaymentToken|StakingToken>[:<min reward per TFLOP, base units>] (a token key is read from --deployments)",
        ),
        "UPOW_ACCEPT_TOKENS",
      ),
    )
    .addOption(
      new Option("--max-flops-per-step <n>", "refuse jobs above this many FLOPs per step")
        .argParser(bigintArg("--max-flops-per-step"))
        .default(WORKER_DEFAULTS.maxFlopsPerStep, "1e12"),
    )
    .addOption(
      new Option("--max-job-flops <n>", "refuse jobs above this many FLOPs in total")
        .argParser(bigintArg("--max-job-flops"))
        .default(WORKER_DEFAULTS.maxJobFlops, "1e16"),
    )
    .addOption(
      new Option("--max-state-bytes <n>", "refuse jobs whose state is larger")
        .argParser(bigintArg("--max-state-bytes"))
        .default(WORKER_DEFAULTS.maxStateBytes, "1 GiB"),
    )
    .addOption(
      new Option("--max-artifact-bytes <n>", "refuse jobs whose graph + data are larger")
        .argParser(bigintArg("--max-artifact-bytes"))
        .default(WORKER_DEFAULTS.maxArtifactBytes, "4 GiB"),
    )
    .addOption(
      new Option("--max-collateral <n>", "refuse jobs asking more collateral (staking token base units)").argParser(
        bigintArg("--max-collateral"),
      ),
    )
    .addOption(
      env(new Option("--ep <name>", "onnxruntime execution provider").choices(["cpu", "cuda", "webgpu"]).default("cpu"), "UPOW_EP"),
    )
    .addOption(
      new Option("--threads <n>", "intra-op threads (fixed: results must be reproducible)").argParser(intArg("--threads")).default(1),
    )
    .addOption(env(new Option("--public-url <url>", "base URL where others reach this worker's artifact store"), "UPOW_PUBLIC_URL"))
    .addOption(
      env(new Option("--store-host <host>", "artifact store listen address").default(WORKER_DEFAULTS.storeHost), "UPOW_STORE_HOST"),
    )
    .addOption(
      env(
        new Option("--store-port <port>", "artifact store port (0: any free port)").argParser(intArg("--store-port")).default(0),
        "UPOW_STORE_PORT",
      ),
    )
    .addOption(
      env(
        new Option(
          "--s3-bucket <name>",
          "also publish artifacts to this S3-compatible bucket (credentials: the AWS SDK's chain, e.g. AWS_ACCESS_KEY_ID)",
        ),
        "UPOW_S3_BUCKET",
      ),
    )
    .addOption(env(new Option("--s3-prefix <prefix>", "key prefix in the bucket (objects: <prefix>/artifacts/<sha256>)"), "UPOW_S3_PREFIX"))
    .addOption(
      env(
        new Option("--s3-endpoint <url>", "S3 API endpoint for MinIO, R2, ... (default: AWS S3; path-style addressing when set)"),
        "UPOW_S3_ENDPOINT",
      ),
    )
    .addOption(env(new Option("--s3-region <region>", "bucket region (default: AWS_REGION, else us-east-1)"), "UPOW_S3_REGION"))
    .addOption(
      env(
        new Option(
          "--s3-public-base-url <url>",
          "URL readers fetch <url>/artifacts/<sha256> from anonymously (default: <endpoint>/<bucket>/<prefix>, or the AWS virtual-hosted URL)",
        ),
        "UPOW_S3_PUBLIC_BASE_URL",
      ),
    )
    .addOption(
      new Option("--publish-steps <when>", "publish every step state at submission or only for disputed intervals")
        .choices(["eager", "on-dispute"])
        .default("eager"),
    )
    .addOption(
      new Option("--state-quota <n>", "step states one auditor/challenger/juror may fetch per job by signed request")
        .argParser(intArg("--state-quota"))
        .default(WORKER_DEFAULTS.stateQuota),
    )
    .addOption(
      new Option("--state-request-max-ttl <s>", "longest accepted lifetime of a signed state request, seconds")
        .argParser(intArg("--state-request-max-ttl"))
        .default(WORKER_DEFAULTS.stateRequestMaxTtlSec),
    )
    .addOption(
      new Option(
        "--cheat <mode>",
        "ADVERSARIAL, for tests/demos only: skip=<fraction> | noise=<magnitude> | withhold | precision=fp16|bf16|tf32 | partial=<kept fraction> | reuse | noupdate | drift=<multiple of the bound> | index=<mode>[+<cheat>] (docs/worker.md)",
      ),
    )
    .action(async (o: WorkerCliOptions) => {
      const input = workerInputFromCli(o);
      const cheat = o.cheat ? parseCheatMode(o.cheat) : null;
      const { config, logger } = await unlockDaemon(o, "worker", (dataDir, signer) =>
        workerConfig({ ...input, dataDir, ...(signer ? { signer } : {}) }),
      );
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
    if (given.length > 0)
      throw new WorkerConfigError("--s3-* options need --s3-bucket (or UPOW_S3_BUCKET)", { details: { given: given.map(([k]) => k) } });
    return {};
  }
  return { s3: { bucket: o.s3Bucket, ...Object.fromEntries(given) } };
}
