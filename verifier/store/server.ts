/**
 * Read-only HTTP server for a LocalStore: `GET|HEAD /artifacts/<sha256>` and `GET|HEAD /healthz`.
 * The path is matched raw (never decoded or normalised), so anything that is not exactly 64
 * lowercase hex after `/artifacts/` (`..`, `%2e%2e`, slashes, query tricks) is a 400 and can never
 * name a file outside the store.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { InvalidStoreOptionError } from "./errors";
import { isArtifactHash } from "./hash";
import { isErrno, type LocalStore } from "./localStore";
import { silentLogger, type Logger } from "./logger";

export interface StartStoreServerParameters {
  store: LocalStore;
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** @default silent */
  logger?: Logger;
}

export interface StoreServerHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234`; artifacts are at `${url}/artifacts/<hash>`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const ARTIFACT_PREFIX = "/artifacts/";

export async function startStoreServer(params: StartStoreServerParameters): Promise<StoreServerHandle> {
  const host = params.host ?? "127.0.0.1";
  const port = params.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidStoreOptionError("port", port, "must be an integer in 0..65535");
  }
  const logger = (params.logger ?? silentLogger()).child({ component: "store-server" });
  const server = createServer((req, res) => {
    handle(params.store, logger, req, res).catch((error: unknown) => {
      logger.error({ err: error, url: req.url }, "store request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "internal error" });
      else res.destroy();
    });
  });
  await listen(server, port, host);
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  logger.info({ url, root: params.store.root }, "store server listening");
  return {
    url,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(store: LocalStore, logger: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rawUrl = req.url ?? "";
  const queryAt = rawUrl.indexOf("?");
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const method = req.method ?? "";

  if (path === "/healthz") {
    if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res);
    return sendJson(res, 200, { status: "ok" }, method === "HEAD");
  }
  if (!path.startsWith(ARTIFACT_PREFIX)) return sendJson(res, 404, { error: "no such route" });
  if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res);
  const hash = path.slice(ARTIFACT_PREFIX.length);
  if (!isArtifactHash(hash)) {
    logger.warn({ path: path.slice(0, 200), remote: req.socket.remoteAddress }, "rejected malformed artifact path");
    return sendJson(res, 400, { error: "artifact address must be 64 lowercase hex characters" });
  }

  // Open first, then fstat the same handle: no window between the size we announce and the file we send.
  let file;
  try {
    file = await open(store.path(hash), "r");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return sendJson(res, 404, { error: "artifact not found" }, method === "HEAD");
    throw error;
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) return sendJson(res, 404, { error: "artifact not found" }, method === "HEAD");
    const etag = `"${hash}"`;
    const headers = {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(info.size),
      ETag: etag,
      // Content-addressed: the bytes under a name never change.
      "Cache-Control": "public, max-age=31536000, immutable",
      "X-Content-Type-Options": "nosniff",
    };
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { ETag: etag, "Cache-Control": headers["Cache-Control"] });
      res.end();
      return;
    }
    res.writeHead(200, headers);
    if (method === "HEAD") {
      res.end();
      return;
    }
    const started = Date.now();
    try {
      await pipeline(file.createReadStream({ autoClose: false }), res);
      logger.debug({ hash, bytes: info.size, ms: Date.now() - started }, "served artifact");
    } catch (error) {
      // The client went away mid-body; nothing to answer.
      logger.debug({ hash, err: error }, "artifact transfer aborted");
    }
  } finally {
    await file.close();
  }
}

function methodNotAllowed(res: ServerResponse): void {
  res.setHeader("Allow", "GET, HEAD");
  sendJson(res, 405, { error: "method not allowed" });
}

function sendJson(res: ServerResponse, status: number, body: object, headOnly = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(headOnly ? undefined : text);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
