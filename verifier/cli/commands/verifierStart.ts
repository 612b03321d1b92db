/**
 * `upow verifier start`: the shared daemon flags (cli/daemonOptions.ts: env fallbacks, a
 * `--config` file) and the verifier's own, parsed into the verifier's validated config
 * (daemon/config.ts); registered in cli/commands/verifier.ts, documented in docs/verifier.md.
 */
import { Command, Option } from "commander";
import type { Logger } from "pino";
import { VERIFIER_DEFAULTS, resolveVerifierConfig, type VerifierConfig } from "../../daemon/config";
import { VerifierConfigError } from "../../daemon/errors";
import { EXECUTION_PROVIDERS } from "../../engine/runner";
import { addDaemonOptions, daemonContracts, unlockDaemon, type DaemonCliOptions } from "../daemonOptions";

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
    new Command("start").description(
      "run the verifier daemon: audit submitted jobs, challenge cheats, serve on committees (docs/verifier.md)",
    ),
    "verifier",
  );
  return cmd
    .addOption(opt("--audit-manager <address>", "AuditManager address (overrides --deployments)", "UPOW_AUDIT_MANAGER"))
    .addOption(
      opt(
        "--tx-confirmations <n>",
        `receipt depth before a tx counts (default ${VERIFIER_DEFAULTS.txConfirmations})`,
        "UPOW_TX_CONFIRMATIONS",
      ).argParser(int),
    )
    .addOption(opt("--concurrency <n>", `replays at once (default ${VERIFIER_DEFAULTS.concurrency})`, "UPOW_CONCURRENCY").argParser(int))
    .addOption(
      opt(
        "--max-queued <n>",
        `replays waiting at most, more are refused as busy (default ${VERIFIER_DEFAULTS.maxQueued})`,
        "UPOW_MAX_QUEUED",
      ).argParser(int),
    )
    .addOption(
      opt(
        "--task-budget-ms <ms>",
        `time budget of one audit/judge task (default ${VERIFIER_DEFAULTS.taskBudgetMs})`,
        "UPOW_TASK_BUDGET_MS",
      ).argParser(int),
    )
    .addOption(
      opt(
        "--max-flops-per-step <n>",
        `refuse jobs whose step costs more FLOPs under the cost model (default ${VERIFIER_DEFAULTS.maxFlopsPerStep})`,
        "UPOW_MAX_FLOPS_PER_STEP",
      ).argParser(bigint),
    )
    .addOption(
      opt(
        "--max-peak-bytes <n>",
        `refuse jobs whose step may need more memory (default ${VERIFIER_DEFAULTS.maxPeakBytes})`,
        "UPOW_MAX_PEAK_BYTES",
      ).argParser(bigint),
    )
    .addOption(
      opt(
        "--min-flops-per-second <n>",
        `rate step budgets assume; a slower step is killed (default ${VERIFIER_DEFAULTS.minFlopsPerSecond})`,
        "UPOW_MIN_FLOPS_PER_SECOND",
      ).argParser(int),
    )
    .addOption(
      opt("--step-base-ms <ms>", `added to every step budget (default ${VERIFIER_DEFAULTS.stepBaseMs})`, "UPOW_STEP_BASE_MS").argParser(
        int,
      ),
    )
    .addOption(opt("--no-audit", "do not audit jobs on its own (assigned audits and jury duty still run)", "UPOW_NO_AUDIT"))
    .addOption(opt("--no-challenge", "never open disputes", "UPOW_NO_CHALLENGE"))
    .addOption(opt("--no-call-timeouts", "only call permissionless timeouts that pay this node", "UPOW_NO_CALL_TIMEOUTS"))
    .addOption(opt("--appeal", "appeal (paying the appeal bond) a ruling against this node's challenge", "UPOW_APPEAL"))
    .addOption(
      opt(
        "--unserved-grace-ms <ms>",
        `retry unfetchable sampled artifacts this long before challenging (default ${VERIFIER_DEFAULTS.unservedGraceMs})`,
        "UPOW_UNSERVED_GRACE_MS",
      ).argParser(int),
    )
    .addOption(
      opt(
        "--unserved-min-attempts <n>",
        `...and over at least this many audit attempts (default ${VERIFIER_DEFAULTS.unservedMinAttempts})`,
        "UPOW_UNSERVED_MIN_ATTEMPTS",
      ).argParser(int),
    )
    .addOption(
      opt(
        "--single-steps <u>",
        `single steps checked per sampled interval, besides its k-step replay (default ${VERIFIER_DEFAULTS.singleSteps})`,
        "UPOW_SINGLE_STEPS",
      ).argParser(int),
    )
    .addOption(
      opt(
        "--state-request-ttl <s>",
        `lifetime of signed state requests to workers, seconds (default ${VERIFIER_DEFAULTS.stateRequestTtlSec})`,
        "UPOW_STATE_REQUEST_TTL",
      ).argParser(int),
    )
    .addOption(
      opt(
        "--log-chunk-size <n>",
        `getLogs block range per call during backfill (default ${VERIFIER_DEFAULTS.logChunkSize})`,
        "UPOW_LOG_CHUNK_SIZE",
      ).argParser(int),
    )
    .addOption(opt("--no-keep-randomness", "do not checkpoint/reveal/request draw seeds (keeper)", "UPOW_NO_KEEP_RANDOMNESS"))
    .addOption(opt("--no-reopen-voided", "do not reopen this node's voided disputes (keeper)", "UPOW_NO_REOPEN_VOIDED"))
    .addOption(
      opt(
        "--no-settle-availability",
        "do not settle availability challenges or withdraw their credits (keeper)",
        "UPOW_NO_SETTLE_AVAILABILITY",
      ),
    )
    .addOption(opt("--no-repinpoint", "do not pinpoint again after an Indeterminate ruling", "UPOW_NO_REPINPOINT"))
    .addOption(
      opt(
        "--juror-ep <ep>",
        `execution provider of the juror's second run: ${EXECUTION_PROVIDERS.join(", ")} (default ${VERIFIER_DEFAULTS.jurorEp}); another implementation than the CPU reference acquits honest workers on it (docs/tolerance.md)`,
        "UPOW_JUROR_EP",
      ),
    )
    .addOption(
      opt("--randomness-source <source>", "auto (probe the contract), blockhash, prevrandao, l1origin or vrf", "UPOW_RANDOMNESS_SOURCE"),
    )
    .addOption(
      opt("--l1-rpc-url <url...>", "L1 JSON-RPC URL(s) for L1 seed headers (l1origin)", "UPOW_L1_RPC_URLS").argParser(
        (v: string, prev?: string[]) => [...(prev ?? []), ...v.split(",").filter(Boolean)],
      ),
    )
    .action(async (o: DaemonCliOptions & Record<string, unknown>) => {
      const dep = daemonContracts(o);
      const address = (flag: string, v: string | undefined): string => {
        if (v === undefined)
          throw new VerifierConfigError(`no ${flag} address: give --deployments <file> or --${flag}`, { details: { field: flag } });
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
      const { config, logger } = await unlockDaemon(o, "verifier", (dataDir, signer) =>
        resolveVerifierConfig({ ...input, dataDir, ...(signer ? { signer } : {}) }),
      );
      await run(config, logger);
    });
}
