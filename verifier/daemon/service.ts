/**
 * The one file that wires the verifier daemon (op-challenger's service): on the shared DaemonRuntime
 * (instance lock → journal → provider → signer → TxSender, the only signer → metrics → loop) it
 * builds the contracts → artifact client → scheduler → responder → players → monitor → keeper.
 * `runVerifier` returns when `signal` aborts (tests simulate crashes by aborting and restarting on
 * the same data dir).
 */
import path from "node:path";
import pino, { type Logger } from "pino";
import {
  AuditManager__factory,
  BlockhashRandomness__factory,
  DataAvailability__factory,
  DisputeManager__factory,
  IERC20__factory,
  JobMarket__factory,
  StakeManager__factory,
} from "../../typechain-types";
import { createMetrics, type UPowMetrics } from "../chain/metrics";
import { createProvider, collectErrorText } from "../chain/rpc";
import { DaemonRuntime } from "../runtime/daemonRuntime";
import { TokenInfoCache } from "../chain/tokenInfo";
import { UPowError } from "../errors";
import { LocalStore } from "../store";
import { ResultIndexCache } from "./check/resultIndex";
import { JudgementCache } from "./check/judgements";
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
import { contractCall, Responder } from "../runtime/responder";
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
  const clock = options.clock ?? Date.now;
  const metrics = options.metrics ?? createMetrics({ clock });
  await DaemonRuntime.run({ config, signal, logger, metrics, clock }, async (rt) => {
    const { provider, journal, signer } = rt;
    const me = rt.address;
    const log = logger.child({ verifier: me });

    const { chainId, confirmations } = await rt.checkChain({
      JobMarket: config.jobMarket,
      AuditManager: config.auditManager,
      DisputeManager: config.disputeManager,
    });
    const settings = options.settings ?? verifierSettings(config.jurorEp);
    await probeSettings(options.runners ?? onnxRunnerFactory, settings);
    if (config.jurorEp !== "cpu")
      log.info({ jurorEp: config.jurorEp }, "juror's second run on another execution provider: it opens and steps");
    const jobMarket = JobMarket__factory.connect(config.jobMarket, provider);
    const auditManager = AuditManager__factory.connect(config.auditManager, provider);
    const disputeManager = DisputeManager__factory.connect(config.disputeManager, provider);
    // Availability challenges (chunks, leaves) live in the DataAvailability the DisputeManager uses.
    const [tokenAddress, randomnessAddress, dataAvailabilityAddress, stakeManagerAddress] = await rt.retry("contract addresses", () =>
      Promise.all([
        disputeManager.stakingToken(),
        disputeManager.randomness(),
        disputeManager.dataAvailability(),
        disputeManager.stakeManager(),
      ]),
    );
    const stakeManager = StakeManager__factory.connect(stakeManagerAddress, provider);
    const dataAvailability = DataAvailability__factory.connect(dataAvailabilityAddress, provider);
    const stakingToken = IERC20__factory.connect(tokenAddress, provider);
    const randomness = BlockhashRandomness__factory.connect(randomnessAddress, provider);
    const tokens = new TokenInfoCache(provider);

    const sender = await rt.startSender({
      confirmations: config.txConfirmations,
      errorInterfaces: [
        jobMarket.interface,
        auditManager.interface,
        disputeManager.interface,
        dataAvailability.interface,
        StakeManager__factory.createInterface(),
      ],
    });

    const store = await LocalStore.open(path.join(config.dataDir, "artifacts"));
    const client = new ArtifactClient({
      store,
      logger: log.child({ component: "artifacts" }),
      timeoutMs: config.artifactTimeoutMs,
      retries: config.artifactRetries,
      urlPolicy: { allowPrivate: config.allowPrivateArtifacts },
    });
    const scheduler = new Scheduler({
      concurrency: config.concurrency,
      maxQueued: config.maxQueued,
      budgetMs: config.taskBudgetMs,
      logger: log,
    });
    rt.defer(() => scheduler.close());
    const records = new DaemonRecords(journal.kv);
    const ctx: PlayerContext = {
      me,
      jobMarket,
      auditManager,
      disputeManager,
      dataAvailability,
      randomness,
      stakeManager,
      stakingToken,
      fromBlock: config.startBlock,
      records,
      scheduler,
      responder: new Responder(sender, log.child({ component: "responder" })),
      minedBlock: (key) => {
        const i = journal.getIntent(key);
        return i?.state === "mined" && i.status === 1 ? i.blockNumber : null;
      },
      client,
      judgements: new JudgementCache(),
      indexes: new ResultIndexCache({
        client,
        unserved: { graceMs: config.unservedGraceMs, minAttempts: config.unservedMinAttempts },
        ...(options.indexParse ? { parse: options.indexParse } : {}),
      }),
      specs:
        options.specs ??
        new ManifestSpecLoader(client, {
          maxFlopsPerStep: config.maxFlopsPerStep,
          maxPeakBytes: config.maxPeakBytes,
          minFlopsPerSecond: config.minFlopsPerSecond,
          stepBaseMs: config.stepBaseMs,
        }),
      runners: options.runners ?? onnxRunnerFactory,
      settings,
      jobPolicy: {
        audit: config.audit,
        challenge: config.challenge,
        callTimeouts: config.callTimeouts,
        deadlineMarginSec: BigInt(config.deadlineMarginSec),
      },
      disputePolicy: {
        callTimeouts: config.callTimeouts,
        deadlineMarginSec: BigInt(config.deadlineMarginSec),
        appeal: config.appeal,
        repinpoint: config.repinpoint,
      },
      taskBudgetMs: config.taskBudgetMs,
      unserved: { graceMs: config.unservedGraceMs, minAttempts: config.unservedMinAttempts },
      singleSteps: config.singleSteps,
      stateRequests: {
        signer,
        domain: { chainId, jobMarket: config.jobMarket },
        ttlSec: config.stateRequestTtlSec,
        now: async () => BigInt((await provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000)),
      },
      tokens,
      logger: log,
      metrics,
    };
    const monitor = new Monitor({
      provider,
      kv: journal.kv,
      records,
      contracts: { jobMarket, disputeManager },
      startBlock: config.startBlock,
      confirmations,
      chunkSize: config.logChunkSize,
      logger: log,
      metrics,
    });

    const source =
      config.randomnessSource !== "auto"
        ? config.randomnessSource
        : await rt.retry("randomness source", () => detectRandomnessSource(randomnessAddress, provider));
    let l1: ReturnType<typeof createProvider> | undefined;
    if (config.l1RpcUrls.length > 0) {
      const p = createProvider({
        urls: config.l1RpcUrls,
        timeoutMs: config.rpcTimeoutMs,
        logger: log.child({ rpc: "l1" }),
        pollingIntervalMs: config.pollIntervalMs,
      });
      rt.defer(() => p.destroy());
      l1 = p;
    }
    const keeper = new Keeper({
      me,
      provider,
      l1,
      kv: journal.kv,
      records,
      responder: ctx.responder,
      jobMarket,
      auditManager,
      disputeManager,
      stakeManager,
      dataAvailability,
      addresses: { stakingToken: tokenAddress },
      tokens,
      randomness: { address: randomnessAddress, source },
      duties: { randomness: config.keepRandomness, reopen: config.reopenVoided, settle: config.settleAvailability },
      startBlock: config.startBlock,
      confirmations,
      chunkSize: config.logChunkSize,
      logger: log,
      metrics,
    });
    log.info(
      {
        randomnessSource: source,
        keeper: { randomness: config.keepRandomness, reopen: config.reopenVoided, settle: config.settleAvailability },
      },
      "keeper configured",
    );

    let lastBlock = -1;
    const metricsUrl = await rt.serveMetrics(() => ({ lastBlock, ...scheduler.stats() }));
    if (metricsUrl !== null) options.onMetricsServer?.(metricsUrl);

    log.info({ dryRun: config.dryRun, confirmations, startBlock: config.startBlock }, "verifier started");
    const jobPlayers = new Map<bigint, JobPlayer>();
    const disputePlayers = new Map<bigint, DisputePlayer>();
    await rt.loop(async () => {
      const tick = await monitor.poll();
      if (!tick || signal.aborted) return;
      // Before the players: a reveal lets this tick's draw run; a voided dispute is seen before its player is dropped.
      await keeper.tick(tick);
      await actAll(
        records.followedJobs(),
        jobPlayers,
        (id) => new JobPlayer(ctx, id),
        tick,
        (id) => records.unfollowJob(id),
        log,
        signal,
      );
      await actAll(
        records.followedDisputes(),
        disputePlayers,
        (id) => new DisputePlayer(ctx, id),
        tick,
        (id) => records.unfollowDispute(id),
        log,
        signal,
      );
      await withdrawCredits(ctx, tick, log).catch((err: unknown) =>
        log.warn({ err: collectErrorText(err) }, "credit withdrawal failed; retrying later"),
      );
      lastBlock = tick.block;
      options.onTick?.(tick);
    });
    log.info("verifier stopping");
  });
}

async function actAll<P extends { act(t: Tick): Promise<"active" | "done"> }>(
  ids: bigint[],
  players: Map<bigint, P>,
  make: (id: bigint) => P,
  tick: Tick,
  unfollow: (id: bigint) => void,
  log: Logger,
  signal: AbortSignal,
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
    const r = await ctx.responder.respond(
      contractCall(ctx.disputeManager, "withdraw", [], { key: `withdraw:dm:${tick.block}`, purpose: "withdraw" }),
    );
    if (r.kind === "sent") log.info(await ctx.tokens.fields("credits", await ctx.stakingToken.getAddress(), credits), "credits withdrawn");
  }
  for (const token of ctx.records.feeTokens()) {
    const owed = await ctx.auditManager.credits(token, ctx.me, bt);
    if (owed === 0n) continue;
    const r = await ctx.responder.respond(
      contractCall(ctx.auditManager, "withdraw", [token], {
        key: `withdraw:am:${token.toLowerCase()}:${tick.block}`,
        purpose: "withdraw-fees",
      }),
    );
    if (r.kind === "sent") log.info({ token, ...(await ctx.tokens.fields("credits", token, owed)) }, "audit fee credits withdrawn");
  }
}
