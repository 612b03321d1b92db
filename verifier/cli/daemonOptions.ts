/**
 * The CLI shape both daemons share (`upow worker start`, `upow verifier start`): the same flag and
 * env names, the same defaults, a `--config` file under flags and env, contract addresses and the
 * start block from `--deployments`, and the key by name. docs/daemon-cli.md has the table.
 */
import path from "node:path";
import { Command, Option } from "commander";
import type { Logger } from "pino";
import { parseConfirmations, type Confirmations } from "../chain/confirmations";
import { daemonKeySource, loadSigner, type LoadedSigner } from "../chain/keys";
import { daemonAddresses, loadDeployment, type DaemonAddresses } from "../chain/registry";
import { defaultDataDir, defaultKeyDir, stateDir, type DaemonRole } from "../chain/stateDir";
import { UPowError } from "../errors";
import { DAEMON_DEFAULTS } from "../runtime/defaults";
import { applyConfigFile } from "./configFile";
import { createDaemonLogger, LOG_FORMATS, type LogFormat } from "./logger";
import { promptHidden } from "./prompt";

class DaemonOptionError extends UPowError {
  override readonly name = "DaemonOptionError";
}

export interface DaemonCliOptions {
  config?: string;
  rpcUrl?: string[];
  deployments?: string;
  jobMarket?: string;
  disputeManager?: string;
  startBlock?: number;
  dataDir?: string;
  pollInterval: number;
  confirmations: Confirmations;
  key?: string;
  keyDir?: string;
  keystore?: string;
  passwordFile?: string;
  logLevel: string;
  logFormat: LogFormat;
  metricsPort?: number;
  metricsHost: string;
  maxHeadAge: number;
  allowPrivateArtifacts?: boolean;
  dryRun?: boolean;
}

const int =
  (flag: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
      throw new DaemonOptionError(`${flag} must be a non-negative integer`, { details: { value: v } });
    return Number(v);
  };

/** `--rpc-url a,b --rpc-url c` and `UPOW_RPC_URLS=a,b` alike. */
const urls = (v: string, prev?: string[]): string[] => [
  ...(prev ?? []),
  ...v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
];

/** Adds the shared flags to a daemon's `start` command and installs `--config` (call before the role's own options or after: order only changes --help). */
export function addDaemonOptions(cmd: Command, role: DaemonRole): Command {
  const opt = (flags: string, help: string, env: string): Option => new Option(flags, help).env(env);
  cmd
    .addOption(
      opt("--config <file>", "TOML or JSON file of options (keys: long flag names in camelCase); flags and env override it", "UPOW_CONFIG"),
    )
    .addOption(
      opt(
        "--rpc-url <url...>",
        "JSON-RPC URL(s), tried in order with fallback; comma-separated in the env (the old UPOW_RPC_URL is read too)",
        "UPOW_RPC_URLS",
      ).argParser(urls),
    )
    .addOption(
      opt(
        "--deployments <file>",
        "deployments/<network>.json from scripts/deploy.ts: contract addresses and the start block",
        "UPOW_DEPLOYMENTS",
      ),
    )
    .addOption(opt("--job-market <address>", "JobMarket address (overrides --deployments)", "UPOW_JOB_MARKET"))
    .addOption(opt("--dispute-manager <address>", "DisputeManager address (overrides --deployments)", "UPOW_DISPUTE_MANAGER"))
    .addOption(
      opt("--start-block <n>", "first block to scan on a fresh data dir (default: the deployment block)", "UPOW_START_BLOCK").argParser(
        int("--start-block"),
      ),
    )
    .addOption(opt("--data-dir <dir>", `journal, lock, artifacts (default: <state dir>/${role}-<address>)`, "UPOW_DATA_DIR"))
    .addOption(
      opt("--poll-interval <ms>", "chain polling period", "UPOW_POLL_INTERVAL")
        .argParser(int("--poll-interval"))
        .default(DAEMON_DEFAULTS.pollIntervalMs),
    )
    .addOption(
      opt(
        "--confirmations <n|auto>",
        "read events and state at latest − n; auto: 0 on a local dev chain (31337, 1337), else 2",
        "UPOW_CONFIRMATIONS",
      )
        .argParser(parseConfirmations)
        .default(DAEMON_DEFAULTS.confirmations),
    )
    .addOption(opt("--key <name>", "sign with the keystore of this name in the key dir (upow key import <name>)", "UPOW_KEY"))
    .addOption(opt("--key-dir <dir>", "where named keystores live (default: <state dir>/keys)", "UPOW_KEY_DIR"))
    .addOption(opt("--keystore <file>", "sign with this encrypted JSON keystore", "UPOW_KEYSTORE"))
    .addOption(
      opt("--password-file <file>", "keystore password file (else UPOW_KEYSTORE_PASSWORD, else a prompt on a TTY)", "UPOW_PASSWORD_FILE"),
    )
    .addOption(
      opt("--log-level <level>", "pino log level", "UPOW_LOG_LEVEL")
        .choices(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
        .default(DAEMON_DEFAULTS.logLevel),
    )
    .addOption(
      opt("--log-format <format>", "pretty on a terminal, JSON lines otherwise (auto)", "UPOW_LOG_FORMAT")
        .choices([...LOG_FORMATS])
        .default(DAEMON_DEFAULTS.logFormat),
    )
    .addOption(
      opt("--metrics-port <port>", "serve /metrics and /healthz on this port (0: a free one)", "UPOW_METRICS_PORT").argParser(
        int("--metrics-port"),
      ),
    )
    .addOption(opt("--metrics-host <host>", "metrics bind address", "UPOW_METRICS_HOST").default(DAEMON_DEFAULTS.metricsHost))
    .addOption(
      opt("--max-head-age <s>", "/healthz fails (503) when the latest block is older than this many seconds", "UPOW_MAX_HEAD_AGE")
        .argParser(int("--max-head-age"))
        .default(DAEMON_DEFAULTS.maxHeadAgeSec),
    )
    .addOption(
      opt(
        "--allow-private-artifacts",
        "fetch job-named artifacts from loopback/private addresses too (local demo only)",
        "UPOW_ALLOW_PRIVATE_ARTIFACTS",
      ),
    )
    .addOption(opt("--dry-run", "decide, simulate and log transactions; send none", "UPOW_DRY_RUN"));
  return cmd.hook("preAction", (self) => {
    // Env before the file: the worker's old UPOW_RPC_URL still counts as an env var.
    const legacy = process.env.UPOW_RPC_URL;
    if (legacy && self.getOptionValueSource("rpcUrl") === undefined) self.setOptionValueWithSource("rpcUrl", urls(legacy), "env");
    const file = self.getOptionValue("config") as string | undefined;
    if (file !== undefined) applyConfigFile(self, file);
  });
}

/** Contract addresses and start block: explicit flags over the deployments file. */
export function daemonContracts(o: Pick<DaemonCliOptions, "deployments">): Partial<DaemonAddresses> {
  return o.deployments === undefined ? {} : daemonAddresses(loadDeployment({ file: o.deployments }));
}

export interface UnlockedDaemon<C> {
  readonly config: C;
  readonly logger: Logger;
}

/**
 * Validates the config, unlocks the key, then names the default data dir after the key's address
 * (`<state dir>/<role>-<address>`): two daemons with different keys never share a dir.
 * `resolve` builds the role's config; it runs once before the unlock so that a bad option fails
 * before a password is asked for.
 */
export async function unlockDaemon<C>(
  o: DaemonCliOptions,
  role: DaemonRole,
  resolve: (dataDir: string, signer?: LoadedSigner) => C,
  env: NodeJS.ProcessEnv = process.env,
): Promise<UnlockedDaemon<C>> {
  resolve(o.dataDir ?? stateDir(env));
  const logger = createDaemonLogger({ level: o.logLevel, format: o.logFormat });
  const signer = await loadSigner({
    ...daemonKeySource({ keyDir: o.keyDir ?? defaultKeyDir(env), ...pick(o, "key", "keystore", "passwordFile") }, env),
    ...(process.stdin.isTTY ? { promptPassword: () => promptHidden("keystore password: ") } : {}),
    logger,
  });
  const dataDir = o.dataDir !== undefined ? path.resolve(o.dataDir) : defaultDataDir(role, signer.address, env);
  return { config: resolve(dataDir, signer), logger };
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<Pick<T, K>>;
}
