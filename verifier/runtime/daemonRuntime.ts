/**
 * The runtime both daemons run on (issue 20): instance lock → journal → provider → signer →
 * TxSender (the only code that signs) → /metrics and /healthz → the per-tick poll loop, torn down
 * in reverse order however the daemon ends. The worker and the verifier differ only in what they
 * build on top (monitor → solver → player → responder) and hand to `loop`.
 */
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Interface } from "ethers";
import type { Logger } from "pino";
import type { Confirmations } from "../chain/confirmations";
import { resolveConfirmations } from "../chain/confirmations";
import { checkDeployment, DeploymentCheckError, type CheckDeploymentParameters } from "../chain/deploymentCheck";
import { FailureTracker } from "../chain/failures";
import { evaluateHealth, observeHead } from "../chain/health";
import { acquireInstanceLock } from "../chain/instance-lock";
import { Journal } from "../chain/journal";
import { loadSigner, type LoadedSigner } from "../chain/keys";
import { startMetricsServer, type DaemonMetrics } from "../chain/metrics";
import { collectErrorText, createProvider, type Eip1193Provider, type UPowProvider } from "../chain/rpc";
import { TxSender } from "../chain/tx-sender";

/** The options both daemons' configs carry (verifier/cli/daemonOptions.ts has their flags). */
export interface RuntimeConfig {
  readonly dataDir: string;
  readonly rpcUrls: readonly string[];
  readonly eip1193?: Eip1193Provider;
  /** Per-request RPC timeout. @default createProvider's */
  readonly rpcTimeoutMs?: number;
  /** The key, already unlocked; wins over env and keystore. */
  readonly signer?: LoadedSigner;
  readonly env?: NodeJS.ProcessEnv;
  readonly keystore?: string;
  readonly passwordFile?: string;
  readonly pollIntervalMs: number;
  readonly confirmations: Confirmations;
  readonly dryRun: boolean;
  readonly metricsPort?: number;
  readonly metricsHost: string;
  readonly maxHeadAgeSec: number;
  readonly expectedChainId?: number;
}

export interface OpenRuntimeParameters<M extends DaemonMetrics> {
  readonly config: RuntimeConfig;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics: M;
  /** Lock file in the data dir. @default "upow.lock" */
  readonly lockFileName?: string;
  /** Wall clock in ms for the head age (tests move it). @default Date.now */
  readonly clock?: () => number;
}

export interface StartSenderParameters {
  /** Contract interfaces whose custom errors name a revert. */
  readonly errorInterfaces: Interface[];
  /** Blocks a receipt must be deep. */
  readonly confirmations: number;
}

type Cleanup = () => Promise<void> | void;

export class DaemonRuntime<M extends DaemonMetrics> {
  readonly config: RuntimeConfig;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics: M;
  readonly journal: Journal;
  readonly provider: UPowProvider;
  readonly signer: LoadedSigner;
  /** Back-off of failing transaction purposes, shared by the sender and /healthz. */
  readonly failures: FailureTracker;
  readonly #clock: () => number;
  readonly #cleanup: Cleanup[];

  private constructor(p: OpenRuntimeParameters<M>, journal: Journal, provider: UPowProvider, signer: LoadedSigner, cleanup: Cleanup[]) {
    this.config = p.config;
    this.signal = p.signal;
    this.logger = p.logger;
    this.metrics = p.metrics;
    this.journal = journal;
    this.provider = provider;
    this.signer = signer;
    this.#clock = p.clock ?? Date.now;
    this.#cleanup = cleanup;
    this.failures = new FailureTracker({
      baseDelayMs: p.config.pollIntervalMs,
      onFailure: (purpose, reason) => p.metrics.txFailures.inc({ purpose, reason }),
    });
  }

  /**
   * Opens the runtime, runs `body` on it and closes it whatever happens (a crash, an abort): the
   * lock is the first thing taken and the last released, so two daemons never share a journal.
   */
  static async run<M extends DaemonMetrics, T>(p: OpenRuntimeParameters<M>, body: (rt: DaemonRuntime<M>) => Promise<T>): Promise<T> {
    const { config, logger, metrics } = p;
    const lock = acquireInstanceLock({ dataDir: config.dataDir, ...(p.lockFileName ? { fileName: p.lockFileName } : {}), logger });
    const cleanup: Cleanup[] = [() => lock.release()];
    try {
      const journal = Journal.open(path.join(config.dataDir, "journal.sqlite"), logger);
      cleanup.unshift(() => journal.close());
      const provider = createProvider({
        urls: [...config.rpcUrls],
        ...(config.eip1193 ? { eip1193: config.eip1193 } : {}),
        ...(config.rpcTimeoutMs !== undefined ? { timeoutMs: config.rpcTimeoutMs } : {}),
        logger,
        pollingIntervalMs: config.pollIntervalMs,
        onRpcError: (i) => metrics.rpcErrors.inc({ endpoint: i.endpoint }),
      });
      cleanup.unshift(() => provider.destroy());
      const signer = (
        config.signer ??
        (await loadSigner({
          ...(config.env ? { env: config.env } : {}),
          ...(config.keystore ? { keystorePath: config.keystore } : {}),
          ...(config.passwordFile ? { passwordFile: config.passwordFile } : {}),
          logger,
        }))
      ).connect(provider);
      return await body(new DaemonRuntime(p, journal, provider, signer, cleanup));
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

  /** The signer's address. */
  get address(): string {
    return this.signer.address;
  }

  /** Runs `f` when the runtime closes, before what was opened earlier (last opened, first closed). */
  defer(f: Cleanup): void {
    this.#cleanup.unshift(f);
  }

  /**
   * The chain's id and the confirmation depth of event and state reads on it; the addresses are
   * checked first (a wrong one stops the daemon, naming what the address looks like).
   */
  async checkChain(addresses: CheckDeploymentParameters["addresses"]): Promise<{ chainId: bigint; confirmations: number }> {
    const { expectedChainId } = this.config;
    await this.retry("deployment check", () =>
      checkDeployment({ provider: this.provider, addresses, ...(expectedChainId !== undefined ? { expectedChainId } : {}) }),
    );
    const chainId = (await this.retry("chain id", () => this.provider.getNetwork())).chainId;
    return { chainId, confirmations: resolveConfirmations(this.config.confirmations, chainId) };
  }

  /** A start-up read, retried until it succeeds or the daemon stops (an RPC outage at start is not fatal; a wrong deployment is). */
  async retry<T>(what: string, f: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await f();
      } catch (err) {
        if (this.signal.aborted || err instanceof DeploymentCheckError) throw err;
        this.logger.warn({ what, attempt, err: collectErrorText(err) }, "start-up step failed; retrying");
        await sleep(Math.min(5_000, 100 * 2 ** attempt), undefined, { signal: this.signal }).catch(() => undefined);
        if (this.signal.aborted) throw err;
      }
    }
  }

  /** The daemon's one TxSender: journaled intents, keyed, counted in txs_sent and tx_failures. */
  async startSender(p: StartSenderParameters): Promise<TxSender> {
    const sender = await this.retry("tx sender", () =>
      TxSender.create({
        signer: this.signer,
        provider: this.provider,
        journal: this.journal,
        logger: this.logger.child({ component: "sender" }),
        confirmations: p.confirmations,
        dryRun: this.config.dryRun,
        pollIntervalMs: Math.min(1000, this.config.pollIntervalMs),
        errorInterfaces: p.errorInterfaces,
        failures: this.failures,
        onTxEvent: (e) => {
          if (e.type === "sent") this.metrics.txsSent.inc({ purpose: e.purpose });
        },
      }),
    );
    this.defer(() => sender.close());
    return sender;
  }

  /** Serves /metrics and /healthz when the config names a port; returns its URL, else null. */
  async serveMetrics(details: () => Record<string, unknown> = () => ({})): Promise<string | null> {
    const { metricsPort, metricsHost, maxHeadAgeSec } = this.config;
    if (metricsPort === undefined) return null;
    const server = await startMetricsServer({
      registry: this.metrics.registry,
      port: metricsPort,
      host: metricsHost,
      logger: this.logger,
      health: () => {
        const h = evaluateHealth({
          head: this.metrics.head(),
          nowMs: this.#clock(),
          maxHeadAgeSec,
          failing: this.failures.failingPurposes(),
        });
        return { ...h, details: { ...h.details, ...details() } };
      },
    });
    this.defer(() => server.close());
    return server.url;
  }

  /**
   * Until the signal aborts: record the chain head, run `tick`, wait a poll interval. A failed tick
   * (RPC down, a deep reorg EventCursor reports every poll until an operator acts) is logged and
   * retried; /healthz turns 503 once the head seen is too old.
   */
  async loop(tick: () => Promise<void>): Promise<void> {
    while (!this.signal.aborted) {
      try {
        await observeHead(this.provider, this.metrics);
        await tick();
      } catch (err) {
        if (this.signal.aborted) break;
        this.logger.warn({ err: collectErrorText(err), name: err instanceof Error ? err.name : undefined }, "tick failed; retrying");
      }
      await sleep(this.config.pollIntervalMs, undefined, { signal: this.signal }).catch(() => undefined);
    }
  }
}
