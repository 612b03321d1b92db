import http from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "pino";
import { UPowError } from "../errors";

/**
 * The shared Prometheus metrics of the worker and verifier daemons, in their own Registry (no
 * global state, so tests and two daemons in one process do not collide), and a tiny HTTP server
 * for `/metrics` and `/healthz`.
 */

export interface UPowMetrics {
  registry: Registry;
  jobsSeen: Counter;
  /** Label `result`: attested | disputed | skipped | error. */
  auditsRun: Counter<"result">;
  disputesOpened: Counter;
  disputesWon: Counter;
  disputesLost: Counter;
  votesCommitted: Counter;
  votesRevealed: Counter;
  /** Keeper transactions mined (randomness-reveal, randomness-checkpoint, reopen-dispute, da-settle, ...). */
  keeperActions: Counter<"duty">;
  /** Seconds to replay one sampled step. */
  replaySeconds: Histogram;
  /** Label `endpoint`: the redacted endpoint label (see rpc.ts). */
  rpcErrors: Counter<"endpoint">;
  /** Label `purpose`: the intent's purpose tag. */
  txsSent: Counter<"purpose">;
  /** Labels `purpose`, `reason`: reverted | failed. */
  txsFailed: Counter<"purpose" | "reason">;
}

export interface CreateMetricsParameters {
  /** Metric name prefix. @default "upow_" */
  prefix?: string;
  /** Also collect Node process metrics. @default false */
  defaultMetrics?: boolean;
  /** Labels on every metric, e.g. `{ role: "verifier" }`. */
  defaultLabels?: Record<string, string>;
}

export class MetricsError extends UPowError {
  override readonly name: string = "MetricsError";
}

export function createMetrics(params: CreateMetricsParameters = {}): UPowMetrics {
  const prefix = params.prefix ?? "upow_";
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new MetricsError("invalid metric prefix", { details: { prefix } });
  const registry = new Registry();
  if (params.defaultLabels) registry.setDefaultLabels(params.defaultLabels);
  if (params.defaultMetrics) collectDefaultMetrics({ register: registry, prefix });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: prefix + name, help, labelNames, registers: [registry] });
  return {
    registry,
    jobsSeen: counter("jobs_seen_total", "Jobs seen on chain"),
    auditsRun: counter("audits_run_total", "Audits run, by result", ["result"] as const),
    disputesOpened: counter("disputes_opened_total", "Disputes opened by this node"),
    disputesWon: counter("disputes_won_total", "Disputes won"),
    disputesLost: counter("disputes_lost_total", "Disputes lost"),
    votesCommitted: counter("votes_committed_total", "Juror votes committed"),
    votesRevealed: counter("votes_revealed_total", "Juror votes revealed"),
    keeperActions: counter("keeper_actions_total", "Keeper transactions mined, by duty", ["duty"] as const),
    replaySeconds: new Histogram({
      name: prefix + "replay_seconds",
      help: "Seconds to replay one sampled training step",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    rpcErrors: counter("rpc_errors_total", "RPC transport failures, by endpoint", ["endpoint"] as const),
    txsSent: counter("txs_sent_total", "Transactions broadcast, by purpose", ["purpose"] as const),
    txsFailed: counter("txs_failed_total", "Transactions reverted or failed, by purpose", ["purpose", "reason"] as const),
  };
}

export interface HealthStatus {
  ok: boolean;
  details?: Record<string, unknown>;
}

export interface StartMetricsServerParameters {
  registry: Registry;
  /** @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** `/healthz` answers 200 when ok, 503 otherwise. @default always ok */
  health?: () => HealthStatus | Promise<HealthStatus>;
  logger?: Logger;
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(params: StartMetricsServerParameters): Promise<MetricsServer> {
  const health = params.health ?? (() => ({ ok: true }));
  const server = http.createServer((req, res) => {
    const route = (req.url ?? "/").split("?")[0];
    void (async () => {
      if (req.method !== "GET") {
        res.writeHead(405).end();
      } else if (route === "/metrics") {
        const body = await params.registry.metrics();
        res.writeHead(200, { "content-type": params.registry.contentType }).end(body);
      } else if (route === "/healthz") {
        let status: HealthStatus;
        try {
          status = await health();
        } catch (err) {
          status = { ok: false, details: { error: err instanceof Error ? err.message : String(err) } };
        }
        res.writeHead(status.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(status));
      } else {
        res.writeHead(404).end();
      }
    })().catch((err: unknown) => {
      params.logger?.error({ err }, "metrics server failed");
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new MetricsError("metrics server could not listen", { cause: err })));
    server.listen(params.port ?? 0, params.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${params.host ?? "127.0.0.1"}:${port}`;
  params.logger?.info({ url }, "metrics server listening");
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
