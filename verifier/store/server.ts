/**
 * Read-only HTTP server for a LocalStore: `GET|HEAD /artifacts/<sha256>` and `GET|HEAD /healthz`;
 * with a `states` handler also `GET /states/<jobId>/<step>` (signed step-state requests, v3 V7.1).
 * The path is matched raw (never decoded or normalised), so anything that is not exactly 64
 * lowercase hex after `/artifacts/` (`..`, `%2e%2e`, slashes, query tricks) is a 400 and can never
 * name a file outside the store.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { InvalidStoreOptionError } from "./errors";
import { isArtifactHash } from "./hash";
import { isErrno, type LocalStore } from "./localStore";
import { silentLogger, type Logger } from "./logger";
import { parseStatePath } from "../protocol/stateRequest";

/** Answers one signed state request: the state's bytes, or a status and why not. */
export type StateRequestHandler = (
  jobId: bigint,
  step: number,
  headers: IncomingHttpHeaders,
) => Promise<{ status: 200; bytes: Uint8Array } | { status: number; error: string }>;

export interface StartStoreServerParameters {
  store: LocalStore;
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** @default silent */
  logger?: Logger;
  /** Serves `GET /states/<jobId>/<step>`; absent: that route is a 404 like any unknown one. */
  states?: StateRequestHandler;
}

export interface StoreServerHandle {
  /** Base URL, e.g. `http://127.0.0.1:41234`; artifacts are at `${url}/artifacts/<hash>`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const ARTIFACT_PREFIX = "/artifacts/";
const STATES_PREFIX = "/states/";

export async function startStoreServer(params: StartStoreServerParameters): Promise<StoreServerHandle> {
  const host = params.host ?? "127.0.0.1";
  const port = params.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidStoreOptionError("port", port, "must be an integer in 0..65535");
  }
  const logger = (params.logger ?? silentLogger()).child({ component: "store-server" });
  const server = createServer((req, res) => {
    handle(params, logger, req, res).catch((error: unknown) => {
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

async function handle(params: StartStoreServerParameters, logger: Logger, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const store = params.store;
  const rawUrl = req.url ?? "";
  const queryAt = rawUrl.indexOf("?");
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const method = req.method ?? "";

  if (path === "/healthz") {
    if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res);
    return sendJson(res, 200, { status: "ok" }, method === "HEAD");
  }
  if (params.states && path.startsWith(STATES_PREFIX)) return handleState(params.states, logger, path, req, res);
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

async function handleState(
  states: StateRequestHandler,
  logger: Logger,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== "GET") {
    res.setHeader("Allow", "GET");
    return sendJson(res, 405, { error: "method not allowed" });
  }
  const at = parseStatePath(path);
  if (!at) return sendJson(res, 400, { error: "state path must be /states/<jobId>/<step> in decimal" });
  const answer = await states(at.jobId, at.step, req.headers);
  if (answer.status !== 200 || !("bytes" in answer)) {
    logger.info(
      { jobId: at.jobId.toString(), step: at.step, status: answer.status, remote: req.socket.remoteAddress },
      "state request refused",
    );
    return sendJson(res, answer.status, { error: "error" in answer ? answer.error : "refused" });
  }
  res.writeHead(200, {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(answer.bytes.byteLength),
    // Per requester and quota-counted: no shared cache may answer someone else with it.
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(Buffer.from(answer.bytes.buffer, answer.bytes.byteOffset, answer.bytes.byteLength));
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
