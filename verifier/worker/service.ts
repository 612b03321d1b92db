/**
 * The worker service: on the shared DaemonRuntime (lock, journal, provider, signer, sender, metrics,
 * loop) it wires the artifact store + server, monitor, decider, trainer and responder, and runs
 * the per-tick loop until aborted.
 * Every step is restart-safe: decisions are in the journal before their transaction, transactions
 * are keyed (never sent twice), training resumes from the last checkpoint.
 */
import path from "node:path";
import pino, { type Logger } from "pino";
import { AuditManager__factory, DataAvailability__factory, DisputeManager__factory, JobMarket__factory } from "../../typechain-types";
import { LocalStore, startStoreServer, type RemoteArtifactStore, type StateRequestHandler } from "../store";
import { DaemonRuntime } from "../runtime/daemonRuntime";
import { Responder } from "../runtime/responder";
import type { WorkerConfig } from "./config";
import { createWorkerMetrics, type WorkerMetrics } from "./metrics";
import { Monitor } from "./monitor";
import { StateAccess } from "./stateAccess";
import { contractStateAccessChain, stateRequestHandler } from "./stateServer";
import { HONEST, type WorkerBehaviour } from "./behaviour";
import { WorkerState } from "./workerState";
import { JobPlayer, type TrainingProgressListener } from "./jobPlayer";

export interface RunWorkerOptions {
  readonly signal: AbortSignal;
  /** @default pino at config.logLevel on stderr */
  readonly logger?: Logger;
  /** Called once the store server listens (tests read the URL). */
  readonly onReady?: (info: { address: string; storeUrl: string }) => void;
  /** Called after every training step (tests abort mid-training with it). */
  readonly onTrainingProgress?: TrainingProgressListener;
  /** Metrics to count into (default: a fresh registry). */
  readonly metrics?: WorkerMetrics;
  /** Called once the metrics server listens (config.metricsPort set). */
  readonly onMetricsServer?: (url: string) => void;
  /** Wall clock in ms for the head age (tests move it). @default Date.now */
  readonly clock?: () => number;
  /** How steps are run, results published and demands answered; tests, the demo and `--cheat` hand in a cheat (adversary.ts). @default HONEST */
  readonly behaviour?: WorkerBehaviour;
}

/** Runs the worker until `signal` aborts; resolves after a clean shutdown. */
export async function runWorker(config: WorkerConfig, options: RunWorkerOptions): Promise<void> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { svc: "upow-worker" } }, pino.destination(2));
  const clock = options.clock ?? Date.now;
  const metrics = options.metrics ?? createWorkerMetrics({ clock });
  const behaviour = options.behaviour ?? HONEST;
  await DaemonRuntime.run({ config, signal: options.signal, logger, metrics, clock, lockFileName: "worker.lock" }, async (rt) => {
    const { provider, journal } = rt;
    const address = rt.address;
    const { chainId, confirmations } = await rt.checkChain({
      JobMarket: config.jobMarket,
      ...(config.stakeManager ? { StakeManager: config.stakeManager } : {}),
      ...(config.disputeManager ? { DisputeManager: config.disputeManager } : {}),
    });
    const jobMarket = JobMarket__factory.connect(config.jobMarket, provider);
    const disputeManager = config.disputeManager ? DisputeManager__factory.connect(config.disputeManager, provider) : null;
    // The DataAvailability (availability challenges to answer) is the one the DisputeManager uses.
    const dataAvailability = disputeManager ? DataAvailability__factory.connect(await disputeManager.dataAvailability(), provider) : null;
    const sender = await rt.startSender({
      confirmations: Math.max(1, confirmations),
      errorInterfaces: [
        jobMarket.interface,
        ...(disputeManager ? [disputeManager.interface] : []),
        ...(dataAvailability ? [dataAvailability.interface] : []),
      ],
    });
    const store = await LocalStore.open(path.join(config.dataDir, "store"));
    // Signed step-state requests (V7.1) need the job player, built below; until then they wait.
    let states: StateRequestHandler | null = null;
    const server = await startStoreServer({
      store,
      host: config.storeHost,
      port: config.storePort,
      logger,
      states: (jobId, step, headers) =>
        states ? states(jobId, step, headers) : Promise.resolve({ status: 503, error: "worker is starting" }),
    });
    rt.defer(() => server.close());
    const publicBaseUrl = config.publicBaseUrl ?? server.url;
    let remote: (RemoteArtifactStore & { close(): void }) | null = null;
    if (config.s3) {
      // Loaded only here: the AWS SDK costs every other start a quarter second.
      const { S3ArtifactStore } = await import("../store/s3Store");
      const s3 = new S3ArtifactStore({ ...config.s3, logger });
      rt.defer(() => s3.close());
      remote = s3;
    }
    logger.info(
      {
        address,
        storeUrl: server.url,
        publicBaseUrl,
        remote: remote?.location ?? null,
        dryRun: config.dryRun,
        cheat: behaviour.label,
        confirmations,
      },
      "worker started",
    );
    if (behaviour.label !== null)
      logger.warn({ cheat: behaviour.label }, "ADVERSARIAL MODE: this worker cheats on purpose (tests/demo only)");
    options.onReady?.({ address, storeUrl: server.url });

    const state = new WorkerState(journal.kv);
    const ours = (jobId: bigint): boolean => {
      const r = state.job(jobId);
      return r !== undefined && ["claimed", "submitted", "finalized", "withdrawn"].includes(r.phase);
    };
    const monitor = new Monitor({
      provider,
      kv: journal.kv,
      state,
      jobMarket,
      disputeManager,
      dataAvailability,
      isOurJob: ours,
      startBlock: config.startBlock,
      confirmations,
      logger,
    });
    const metricsUrl = await rt.serveMetrics();
    if (metricsUrl !== null) options.onMetricsServer?.(metricsUrl);
    const player = new JobPlayer({
      config,
      provider,
      metrics,
      jobMarket,
      disputeManager,
      dataAvailability,
      stakeManager: config.stakeManager ?? null,
      address,
      state,
      store,
      publicBaseUrl,
      remote,
      behaviour,
      responder: new Responder(sender, logger.child({ component: "responder" })),
      logger,
      signal: options.signal,
      ...(options.onTrainingProgress ? { onTrainingProgress: options.onTrainingProgress } : {}),
    });

    const latest = async (): Promise<bigint> => BigInt((await provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000));
    states = stateRequestHandler({
      access: new StateAccess({
        chain: contractStateAccessChain({
          jobMarket,
          auditManager: AuditManager__factory.connect(await jobMarket.auditManager(), provider),
          disputeManager,
          now: latest,
        }),
        domain: { chainId, jobMarket: config.jobMarket },
        policy: { quota: config.stateQuota, maxTtlSec: config.stateRequestMaxTtlSec },
        worker: address,
        kv: journal.kv,
      }),
      stateBytes: (jobId, step) => player.stateBytes(jobId.toString(), step),
      withhold: !behaviour.publisher.servesStates,
      logger,
    });

    await rt.loop(async () => {
      await monitor.poll();
      await player.tick();
    });
    await player.stop();
    logger.info("worker stopped");
  });
}
