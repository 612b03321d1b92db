/** `upow dashboard`: a local web page of a deployment's jobs, disputes, accounts and daemons, live. */
import { Option, type Command } from "commander";
import { startDashboard } from "../../dashboard/start";
import { CliError, parseIntOption, type CliContext } from "../context";
import { chainOptions, openChain, type ChainCliOptions } from "./chainOptions";

interface DashboardOptions extends ChainCliOptions {
  port: number;
  host: string;
  metricsUrl?: string[];
  cacheDir?: string;
  allowPrivateArtifacts?: boolean;
  pollInterval: number;
}

const DEFAULT_PORT = 8090;

export function registerDashboard(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command("dashboard")
    .description(
      "web dashboard: jobs and their timelines, loss curves, audits, disputes (phases, deadlines, votes), stake, locks and credits, daemons' health; live from chain events",
    )
    .addOption(new Option("--port <n>", "TCP port, 0 = any free port").env("UPOW_DASHBOARD_PORT").default(DEFAULT_PORT).argParser(port))
    .addOption(
      new Option("--host <host>", "interface to listen on (the page has no login: keep it local)")
        .env("UPOW_DASHBOARD_HOST")
        .default("127.0.0.1"),
    )
    .addOption(
      new Option(
        "--metrics-url <url...>",
        "a daemon's metrics server (its --metrics-port), repeatable: health and counters shown",
      ).argParser(collectUrl),
    )
    .addOption(new Option("--cache-dir <dir>", "where fetched result files are kept (default: <state dir>/dashboard-cache)"))
    .addOption(new Option("--allow-private-artifacts", "fetch result files from loopback/private addresses (a local network)"))
    .addOption(
      new Option("--poll-interval <ms>", "how often to look for new blocks").default(1_000).argParser(parseIntOption("poll-interval", 100)),
    );
  chainOptions(cmd).action(async (o: DashboardOptions) => {
    const c = ctx();
    const session = await openChain(o, c.log);
    const dash = await startDashboard({
      provider: session.provider,
      deployment: session.deployment,
      contracts: session.contracts,
      logger: c.log,
      port: o.port,
      host: o.host,
      metricsUrls: o.metricsUrl ?? [],
      cacheDir: o.cacheDir,
      allowPrivateArtifacts: o.allowPrivateArtifacts === true,
      pollIntervalMs: o.pollInterval,
      chunkSize: o.chunkSize,
    }).catch((e: unknown) => {
      session.provider.destroy();
      throw e;
    });
    c.result({ url: dash.url }, () => `dashboard at ${dash.url} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await dash.close();
    session.provider.destroy();
  });
}

function port(v: string): number {
  if (v.trim() === "") return DEFAULT_PORT; // UPOW_DASHBOARD_PORT exported empty: the default
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError("--port must be an integer in 0..65535", { details: { value: v } });
  return n;
}

function collectUrl(v: string, prev?: string[]): string[] {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new CliError(`--metrics-url ${JSON.stringify(v)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`--metrics-url ${JSON.stringify(v)} must be http(s)`);
  return [...(prev ?? []), v];
}
