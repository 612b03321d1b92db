import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { PACKAGE_ROOT } from "./packageRoot";

/**
 * The Prometheus metrics of the worker and verifier daemons: one scheme for both (prefix `upow_`,
 * label `role`, Node's defaults unprefixed as `process_*` / `nodejs_*`), each daemon in its own
 * Registry (no global state, so tests and two daemons in one process do not collide), and a tiny
 * HTTP server for `/metrics` and `/healthz`.
 */

const METRIC_PREFIX = "upow_";

export type DaemonRole = "worker" | "verifier";

/** The latest chain head a daemon saw. */
export interface HeadSample {
  block: number;
  /** Block timestamp, seconds. */
  timestamp: number;
}

/** What both daemons export. */
export interface DaemonMetrics {
  registry: Registry;
  /** Label `endpoint`: the redacted endpoint label (see rpc.ts). */
  rpcErrors: Counter<"endpoint">;
  /** Label `purpose`: the intent's purpose tag. */
  txsSent: Counter<"purpose">;
  /** Labels `purpose`, `reason` (the revert's error name or the error class): failures.ts counts them. */
  txFailures: Counter<"purpose" | "reason">;
  /** Record the latest head: `upow_chain_head_block`; `upow_chain_head_age_seconds` is computed when scraped. */
  setHead(head: HeadSample): void;
  head(): HeadSample | undefined;
}

export interface UPowMetrics extends DaemonMetrics {
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
}

export interface CreateDaemonMetricsParameters {
  /** @default "verifier" for createMetrics */
  role: DaemonRole;
  /** Also collect Node's process metrics (`process_*`, `nodejs_*`). @default true */
  defaultMetrics?: boolean;
  /** Wall clock in ms (the head age). @default Date.now */
  clock?: () => number;
}

class MetricsError extends UPowError {
  override readonly name: string = "MetricsError";
}

/** The package version and the git commit this code runs from ("unknown" outside a checkout). */
export function buildInfo(): { version: string; commit: string } {
  const root = PACKAGE_ROOT;
  const version = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version;
  let commit = process.env.UPOW_BUILD_COMMIT ?? "";
  if (!commit) {
    try {
      commit = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"], timeout: 5_000 })
        .toString()
        .trim();
    } catch {
      commit = "unknown";
    }
  }
  return { version, commit };
}

export function createDaemonMetrics(params: CreateDaemonMetricsParameters): DaemonMetrics {
  const registry = new Registry();
  const clock = params.clock ?? Date.now;
  registry.setDefaultLabels({ role: params.role });
  if (params.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: "Always 1; the labels say which build runs",
    labelNames: ["version", "commit"],
    registers: [registry],
  });
  info.set(buildInfo(), 1);
  let head: HeadSample | undefined;
  const headBlock = new Gauge({ name: `${METRIC_PREFIX}chain_head_block`, help: "Latest block number seen", registers: [registry] });
  new Gauge({
    name: `${METRIC_PREFIX}chain_head_age_seconds`,
    help: "Seconds between now and the timestamp of the latest block seen (stale chain or RPC when it grows)",
    registers: [registry],
    collect() {
      if (head) this.set(clock() / 1000 - head.timestamp);
    },
  });
  return {
    registry,
    rpcErrors: counter(registry, "rpc_errors_total", "RPC transport failures, by endpoint", ["endpoint"] as const),
    txsSent: counter(registry, "txs_sent_total", "Transactions broadcast, by purpose", ["purpose"] as const),
    txFailures: counter(registry, "tx_failures_total", "Failed transaction intents, by purpose and reason (error name)", [
      "purpose",
      "reason",
    ] as const),
    setHead(h) {
      head = h;
      headBlock.set(h.block);
    },
    head: () => head,
  };
}

export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter<L>({ name: METRIC_PREFIX + name, help, labelNames, registers: [registry] });
}

/** The verifier daemon's metrics. */
export function createMetrics(params: Partial<CreateDaemonMetricsParameters> = {}): UPowMetrics {
  const base = createDaemonMetrics({ role: "verifier", ...params });
  const { registry } = base;
  return {
    ...base,
    jobsSeen: counter(registry, "jobs_seen_total", "Jobs seen on chain"),
    auditsRun: counter(registry, "audits_run_total", "Audits run, by result", ["result"] as const),
    disputesOpened: counter(registry, "disputes_opened_total", "Disputes opened by this node"),
    disputesWon: counter(registry, "disputes_won_total", "Disputes won"),
    disputesLost: counter(registry, "disputes_lost_total", "Disputes lost"),
    votesCommitted: counter(registry, "votes_committed_total", "Juror votes committed"),
    votesRevealed: counter(registry, "votes_revealed_total", "Juror votes revealed"),
    keeperActions: counter(registry, "keeper_actions_total", "Keeper transactions mined, by duty", ["duty"] as const),
    replaySeconds: new Histogram({
      name: METRIC_PREFIX + "replay_seconds",
      help: "Seconds to replay one sampled training step",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
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
