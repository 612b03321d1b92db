/**
 * The one file that wires the verifier daemon (op-challenger's service): instance lock → journal →
 * provider → signer → TxSender (the only signer) → contracts → artifact client → scheduler →
 * responder → players → monitor loop → metrics server. `runVerifier` returns when `signal` aborts
 * (tests simulate crashes by aborting and restarting on the same data dir).
 */
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pino, { type Logger } from "pino";
import {
  AuditManager__factory, BlockhashRandomness__factory, DataAvailability__factory, DisputeManager__factory, IERC20__factory, JobMarket__factory, StakeManager__factory,
} from "../../typechain-types";
import { checkDeployment, DeploymentCheckError } from "../chain/deploymentCheck";
import { FailureTracker } from "../chain/failures";
import { evaluateHealth, observeHead } from "../chain/health";
import { acquireInstanceLock } from "../chain/instance-lock";
import { Journal } from "../chain/journal";
import { resolveConfirmations } from "../chain/confirmations";
import { loadSigner } from "../chain/keys";
import { createMetrics, startMetricsServer, type MetricsServer, type UPowMetrics } from "../chain/metrics";
import { createProvider, collectErrorText } from "../chain/rpc";
import { TxSender } from "../chain/tx-sender";
import { TokenInfoCache } from "../chain/tokenInfo";
import { UPowError } from "../errors";
import { LocalStore } from "../store";
import { ResultIndexCache } from "./check/resultIndex";
import type { ParseIndexOptions } from "./check/indexParse";
import { ArtifactClient } from "./check/artifacts";
import { onnxRunnerFactory, probeSettings, verifierSettings, type RunnerFactory, type RunnerSettingsChoice } from "./check/runners";
import { ManifestSpecLoader, type JobSpecLoader } from "./check/spec";
import type { VerifierConfig } from "./config";
import { Monitor } from "./monitor/monitor";
import type { PlayerContext, Tick } from "./player/context";
import { DisputePlayer } from "./player/disputePlayer";
import { JobPlayer } from "./player/jobPlayer";
import { Keeper } from "./keeper/keeper";
import { detectRandomnessSource } from "./keeper/source";
import { DaemonRecords } from "./records";
import { Responder } from "./responder/responder";
import { Scheduler } from "./scheduler/scheduler";

export interface RunVerifierOptions {
  signal: AbortSignal;
  logger?: Logger;
  /** Step executors (default: onnxruntime-node StepRunner). */
  runners?: RunnerFactory;
  /** Spec loader (default: manifest from the on-chain specURI). */
  specs?: JobSpecLoader;
  /** Juror settings pair (§10.4). @default verifierSettings(config.jurorEp) */
  settings?: readonly [RunnerSettingsChoice, RunnerSettingsChoice];
  /** Called after every tick (tests, health). */
  onTick?: (tick: Tick) => void;
  /** Metrics registry to use (default: a fresh one). */
  metrics?: UPowMetrics;
  /** Called once the metrics server listens. */
  onMetricsServer?: (url: string) => void;
  /** How result indexes are parsed (threshold for a worker thread; tests count parses). */
  indexParse?: ParseIndexOptions;
  /** Wall clock in ms for the head age (tests move it). @default Date.now */
  clock?: () => number;
}

export async function runVerifier(config: VerifierConfig, options: RunVerifierOptions): Promise<void> {
  const { signal } = options;
  const logger = (options.logger ?? pino({ level: config.logLevel })).child({ role: "verifier" });
  const lock = acquireInstanceLock({ dataDir: config.dataDir, logger });
  const cleanup: (() => Promise<void> | void)[] = [() => lock.release()];
  try {
    const journal = Journal.open(path.join(config.dataDir, "journal.sqlite"), logger);
    cleanup.unshift(() => journal.close());
    const clock = options.clock ?? Date.now;
    const metrics = options.metrics ?? createMetrics({ clock });
    const provider = createProvider({
      urls: config.rpcUrls, eip1193: config.eip1193, timeoutMs: config.rpcTimeoutMs, logger, pollingIntervalMs: config.pollIntervalMs,
      onRpcError: (i) => metrics.rpcErrors.inc({ endpoint: i.endpoint }),
    });
    cleanup.unshift(() => provider.destroy());
    const signer = config.signer ? config.signer.connect(provider) : await loadSigner({ env: config.env, keystorePath: config.keystore, passwordFile: config.passwordFile, provider, logger });
    const me = signer.address;
    const log = logger.child({ verifier: me });

    // A wrong address is not retried: it stops the daemon with what the address looks like.
    await startupRetry(signal, log, "deployment check", () => checkDeployment({
      provider, addresses: { JobMarket: config.jobMarket, AuditManager: config.auditManager, DisputeManager: config.disputeManager },
      ...(config.expectedChainId !== undefined ? { expectedChainId: config.expectedChainId } : {}),
    }));
    const settings = options.settings ?? verifierSettings(config.jurorEp);
    await probeSettings(options.runners ?? onnxRunnerFactory, settings);
    if (config.jurorEp !== "cpu") log.info({ jurorEp: config.jurorEp }, "juror's second run on another execution provider: it opens and steps");
    const jobMarket = JobMarket__factory.connect(config.jobMarket, provider);
    const auditManager = AuditManager__factory.connect(config.auditManager, provider);
    const disputeManager = DisputeManager__factory.connect(config.disputeManager, provider);
    // Availability challenges (chunks, leaves) live in the DataAvailability the DisputeManager uses.
    const [tokenAddress, randomnessAddress, dataAvailabilityAddress, stakeManagerAddress] = await startupRetry(signal, log, "contract addresses", () =>
      Promise.all([disputeManager.stakingToken(), disputeManager.randomness(), disputeManager.dataAvailability(), disputeManager.stakeManager()]),
    );
    const chainId = (await startupRetry(signal, log, "chain id", () => provider.getNetwork())).chainId;
    const confirmations = resolveConfirmations(config.confirmations, chainId);
    const stakeManager = StakeManager__factory.connect(stakeManagerAddress, provider);
    const dataAvailability = DataAvailability__factory.connect(dataAvailabilityAddress, provider);
    const stakingToken = IERC20__factory.connect(tokenAddress, provider);
    const randomness = BlockhashRandomness__factory.connect(randomnessAddress, provider);
    const tokens = new TokenInfoCache(provider);

    const failures = new FailureTracker({ baseDelayMs: config.pollIntervalMs, onFailure: (purpose, reason) => metrics.txFailures.inc({ purpose, reason }) });
    const sender = await startupRetry(signal, log, "tx sender", () => TxSender.create({
      signer, provider, journal, logger: log.child({ component: "sender" }), confirmations: config.txConfirmations, dryRun: config.dryRun,
      pollIntervalMs: Math.min(1000, config.pollIntervalMs),
      errorInterfaces: [jobMarket.interface, auditManager.interface, disputeManager.interface, dataAvailability.interface, StakeManager__factory.createInterface()],
      failures,
      onTxEvent: (e) => {
        if (e.type === "sent") metrics.txsSent.inc({ purpose: e.purpose });
      },
    }));
    cleanup.unshift(() => sender.close());

    const store = await LocalStore.open(path.join(config.dataDir, "artifacts"));
    const client = new ArtifactClient({ store, logger: log.child({ component: "artifacts" }), timeoutMs: config.artifactTimeoutMs, retries: config.artifactRetries,
      urlPolicy: { allowPrivate: config.allowPrivateArtifacts },
    });
    const scheduler = new Scheduler({ concurrency: config.concurrency, maxQueued: config.maxQueued, budgetMs: config.taskBudgetMs, logger: log });
    cleanup.unshift(() => scheduler.close());
    const records = new DaemonRecords(journal.kv);
    const ctx: PlayerContext = {
      me, jobMarket, auditManager, disputeManager, dataAvailability, randomness, stakeManager, stakingToken, fromBlock: config.startBlock, records, scheduler,
      responder: new Responder(sender, log.child({ component: "responder" })),
      minedBlock: (key) => {
        const i = journal.getIntent(key);
        return i?.state === "mined" && i.status === 1 ? i.blockNumber : null;
      },
      client,
      indexes: new ResultIndexCache({
        client, unserved: { graceMs: config.unservedGraceMs, minAttempts: config.unservedMinAttempts }, ...(options.indexParse ? { parse: options.indexParse } : {}),
      }),
      specs: options.specs ?? new ManifestSpecLoader(client, {
        maxFlopsPerStep: config.maxFlopsPerStep, maxPeakBytes: config.maxPeakBytes, minFlopsPerSecond: config.minFlopsPerSecond, stepBaseMs: config.stepBaseMs,
      }),
      runners: options.runners ?? onnxRunnerFactory,
      settings,
      jobPolicy: { audit: config.audit, challenge: config.challenge, callTimeouts: config.callTimeouts, deadlineMarginSec: BigInt(config.deadlineMarginSec) },
      disputePolicy: { callTimeouts: config.callTimeouts, deadlineMarginSec: BigInt(config.deadlineMarginSec), appeal: config.appeal, repinpoint: config.repinpoint },
      taskBudgetMs: config.taskBudgetMs,
      unserved: { graceMs: config.unservedGraceMs, minAttempts: config.unservedMinAttempts },
      singleSteps: config.singleSteps,
      stateRequests: {
        signer, domain: { chainId, jobMarket: config.jobMarket }, ttlSec: config.stateRequestTtlSec,
        now: async () => BigInt((await provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000)),
      },
      tokens,
      logger: log,
      metrics,
    };
    const monitor = new Monitor({
      provider, kv: journal.kv, records,
      contracts: { jobMarket, disputeManager },
      startBlock: config.startBlock, confirmations, chunkSize: config.logChunkSize, logger: log, metrics,
    });

    const source = config.randomnessSource !== "auto"
      ? config.randomnessSource
      : await startupRetry(signal, log, "randomness source", () => detectRandomnessSource(randomnessAddress, provider));
    let l1: ReturnType<typeof createProvider> | undefined;
    if (config.l1RpcUrls.length > 0) {
      const p = createProvider({ urls: config.l1RpcUrls, timeoutMs: config.rpcTimeoutMs, logger: log.child({ rpc: "l1" }), pollingIntervalMs: config.pollIntervalMs });
      cleanup.unshift(() => p.destroy());
      l1 = p;
    }
    const keeper = new Keeper({
      me, provider, l1, kv: journal.kv, records, responder: ctx.responder, jobMarket, auditManager, disputeManager, stakeManager, dataAvailability,
      addresses: { dataAvailability: dataAvailabilityAddress, disputeManager: config.disputeManager, stakingToken: tokenAddress }, tokens,
      randomness: { address: randomnessAddress, source },
      duties: { randomness: config.keepRandomness, reopen: config.reopenVoided, settle: config.settleAvailability },
      startBlock: config.startBlock, confirmations, chunkSize: config.logChunkSize, logger: log, metrics,
    });
    log.info({ randomnessSource: source, keeper: { randomness: config.keepRandomness, reopen: config.reopenVoided, settle: config.settleAvailability } }, "keeper configured");

    let lastBlock = -1;
    if (config.metricsPort !== undefined) {
      const server: MetricsServer = await startMetricsServer({
        registry: metrics.registry, port: config.metricsPort, host: config.metricsHost, logger: log,
        health: () => {
          const h = evaluateHealth({ head: metrics.head(), nowMs: clock(), maxHeadAgeSec: config.maxHeadAgeSec, failing: failures.failingPurposes() });
          return { ...h, details: { ...h.details, lastBlock, ...scheduler.stats() } };
        },
      });
      cleanup.unshift(() => server.close());
      options.onMetricsServer?.(server.url);
    }

    log.info({ dryRun: config.dryRun, confirmations, startBlock: config.startBlock }, "verifier started");
    const jobPlayers = new Map<bigint, JobPlayer>();
    const disputePlayers = new Map<bigint, DisputePlayer>();
    while (!signal.aborted) {
      try {
        await observeHead(provider, metrics);
        const tick = await monitor.poll();
        if (tick && !signal.aborted) {
          // Before the players: a reveal lets this tick's draw run; a voided dispute is seen before its player is dropped.
          await keeper.tick(tick);
          await actAll(records.followedJobs(), jobPlayers, (id) => new JobPlayer(ctx, id), tick, (id) => records.unfollowJob(id), log, signal);
          await actAll(records.followedDisputes(), disputePlayers, (id) => new DisputePlayer(ctx, id), tick, (id) => records.unfollowDispute(id), log, signal);
          await withdrawCredits(ctx, tick, log).catch((err: unknown) => log.warn({ err: collectErrorText(err) }, "credit withdrawal failed; retrying later"));
          lastBlock = tick.block;
          options.onTick?.(tick);
        }
      } catch (err) {
        if (signal.aborted) break;
        // The per-block loop logs and keeps going; only an operator can fix a deep reorg, which
        // EventCursor reports on every poll until then.
        log.warn({ err: collectErrorText(err), name: err instanceof Error ? err.name : undefined }, "tick failed; retrying");
      }
      await sleep(config.pollIntervalMs, undefined, { signal }).catch(() => undefined);
    }
    log.info("verifier stopping");
  } finally {
    for (const c of cleanup) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, "cleanup step failed");
      }
    }
  }
}

/** Start-up reads retried until they succeed or the daemon is stopped (an RPC outage at start is not fatal). */
async function startupRetry<T>(signal: AbortSignal, log: Logger, what: string, f: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      if (signal.aborted || err instanceof DeploymentCheckError) throw err;
      log.warn({ what, attempt, err: collectErrorText(err) }, "start-up step failed; retrying");
      await sleep(Math.min(5_000, 100 * 2 ** attempt), undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw err;
    }
  }
}

async function actAll<P extends { act(t: Tick): Promise<"active" | "done"> }>(
  ids: bigint[], players: Map<bigint, P>, make: (id: bigint) => P, tick: Tick, unfollow: (id: bigint) => void, log: Logger, signal: AbortSignal,
): Promise<void> {
  for (const id of ids) {
    if (signal.aborted) return;
    let p = players.get(id);
    if (!p) {
      p = make(id);
      players.set(id, p);
    }
    try {
      if ((await p.act(tick)) === "done") {
        players.delete(id);
        unfollow(id);
      }
    } catch (err) {
      if (signal.aborted) return;
      // One player's failure never stops the others.
      const e = err instanceof UPowError ? { name: err.name, err: err.shortMessage, details: err.details } : { err: collectErrorText(err) };
      log.warn({ id: id.toString(), ...e }, "player failed this tick");
    }
  }
}

/**
 * Pull payments owed to this node: DisputeManager credits (staking token: bounties, refunds, juror
 * shares) and AuditManager credits (fee shares of attested jobs, in each job's payment token).
 */
async function withdrawCredits(ctx: PlayerContext, tick: Tick, log: Logger): Promise<void> {
  const bt = { blockTag: tick.block };
  const credits = await ctx.disputeManager.credits(ctx.me, bt);
  if (credits > 0n) {
    const r = await ctx.responder.respond({
      key: `withdraw:dm:${tick.block}`, purpose: "withdraw", to: await ctx.disputeManager.getAddress(),
      data: ctx.disputeManager.interface.encodeFunctionData("withdraw"),
    });
    if (r.kind === "sent") log.info(await ctx.tokens.fields("credits", await ctx.stakingToken.getAddress(), credits), "credits withdrawn");
  }
  for (const token of ctx.records.feeTokens()) {
    const owed = await ctx.auditManager.credits(token, ctx.me, bt);
    if (owed === 0n) continue;
    const r = await ctx.responder.respond({
      key: `withdraw:am:${token.toLowerCase()}:${tick.block}`, purpose: "withdraw-fees", to: await ctx.auditManager.getAddress(),
      data: ctx.auditManager.interface.encodeFunctionData("withdraw", [token]),
    });
    if (r.kind === "sent") log.info({ token, ...(await ctx.tokens.fields("credits", token, owed)) }, "audit fee credits withdrawn");
  }
}
