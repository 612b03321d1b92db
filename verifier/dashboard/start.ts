/**
 * The dashboard as one unit: the artifact cache, the indexer's first poll, the HTTP server, then
 * the poll loop until `close()`. `upow dashboard` and the browser tests both start it here.
 */
import path from "node:path";
import type { Provider } from "ethers";
import type { Logger } from "pino";
import type { Deployment, UPowContracts } from "../chain/registry";
import { stateDir } from "../chain/stateDir";
import { LocalStore } from "../store";
import { DashboardIndexer } from "./indexer";
import { startDashboardServer } from "./server";

export interface StartDashboardParameters {
  provider: Provider;
  deployment: Deployment;
  contracts: UPowContracts;
  logger: Logger;
  /** @default 0 (any free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  metricsUrls?: readonly string[];
  /** Fetched result files (hash-addressed). @default <state dir>/dashboard-cache */
  cacheDir?: string;
  allowPrivateArtifacts?: boolean;
  /** @default 1_000 */
  pollIntervalMs?: number;
  chunkSize?: number;
}

export interface RunningDashboard {
  url: string;
  indexer: DashboardIndexer;
  close(): Promise<void>;
}

export async function startDashboard(p: StartDashboardParameters): Promise<RunningDashboard> {
  const store = await LocalStore.open(p.cacheDir ?? path.join(stateDir(), "dashboard-cache"));
  const indexer = new DashboardIndexer({
    provider: p.provider,
    deployment: p.deployment,
    contracts: p.contracts,
    logger: p.logger,
    store,
    metricsUrls: p.metricsUrls,
    allowPrivateArtifacts: p.allowPrivateArtifacts,
    chunkSize: p.chunkSize,
  });
  // The first poll reads the whole history: a bad RPC or deployment fails the start, not later.
  await indexer.poll();
  const server = await startDashboardServer({ source: indexer, port: p.port, host: p.host, logger: p.logger });
  const ac = new AbortController();
  const loop = indexer.run(ac.signal, p.pollIntervalMs ?? 1_000);
  return {
    url: server.url,
    indexer,
    close: async () => {
      ac.abort();
      await loop;
      await server.close();
    },
  };
}
