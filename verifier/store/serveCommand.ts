/** What `upow store serve --dir --port --host` runs, without any CLI or process handling. */
import { InvalidStoreOptionError } from "./errors";
import { LocalStore } from "./localStore";
import { silentLogger, type Logger } from "./logger";
import { startStoreServer, type StoreServerHandle } from "./server";

export interface ServeStoreCommandOptions {
  /** Store directory; created when missing. */
  dir: string;
  /** Port as given on the command line. @default 0 (a free port) */
  port?: number | string;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default silent */
  logger?: Logger;
}

/** Opens the store and starts serving it; the caller closes the returned handle (e.g. on SIGINT). */
export async function serveStoreCommand(opts: ServeStoreCommandOptions): Promise<StoreServerHandle & { store: LocalStore }> {
  if (typeof opts.dir !== "string" || opts.dir.length === 0) {
    throw new InvalidStoreOptionError("dir", opts.dir, "must be a non-empty directory path");
  }
  const port = parsePort(opts.port ?? 0);
  const logger = opts.logger ?? silentLogger();
  const store = await LocalStore.open(opts.dir);
  const handle = await startStoreServer({ store, host: opts.host ?? "127.0.0.1", port, logger });
  return { ...handle, store };
}

function parsePort(value: number | string): number {
  const port = typeof value === "string" && /^\d{1,5}$/.test(value) ? Number(value) : value;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidStoreOptionError("port", value, "must be an integer in 0..65535");
  }
  return port;
}
