/**
 * The dashboard's HTTP server (node:http): the page and its bundled script, the view as JSON
 * (`/api/state`), and Server-Sent Events (`/api/events`) that push the view whenever a poll changed
 * it. Binds 127.0.0.1 unless told otherwise: it shows accounts and balances and has no login.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { buildAssets, THEME_JS } from "./assets";
import type { DashboardView } from "./model";

class DashboardServerError extends UPowError {
  override readonly name = "DashboardServerError";
}

/** What the server serves: the indexer in production, anything with a view and updates in tests. */
export interface ViewSource {
  view(): DashboardView;
  onUpdate(listener: (view: DashboardView) => void): () => void;
}

export interface StartDashboardServerParameters {
  source: ViewSource;
  /** @default 0 (any free port) */
  port?: number;
  /** @default "127.0.0.1" (also when empty) */
  host?: string;
  logger: Logger;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; connect-src 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export async function startDashboardServer(p: StartDashboardServerParameters): Promise<DashboardServer> {
  const assets = await buildAssets();
  const streams = new Set<http.ServerResponse>();
  const json = (v: DashboardView): string => JSON.stringify(v);
  let last = json(p.source.view());
  const unsubscribe = p.source.onUpdate((v) => {
    const text = json(v);
    // Only the content counts: updatedAt moves every poll.
    if (withoutClock(text) === withoutClock(last)) return;
    last = text;
    for (const res of streams) res.write(`event: state\ndata: ${text}\n\n`);
  });
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(": keep-alive\n\n");
  }, 15_000);

  const send = (res: http.ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...SECURITY_HEADERS });
    res.end(body);
  };
  const server = http.createServer((req, res) => {
    const route = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain; charset=utf-8", "only GET\n");
    switch (route) {
      case "/":
        return send(res, 200, "text/html; charset=utf-8", assets.html);
      case "/app.js":
        return send(res, 200, "text/javascript; charset=utf-8", assets.js);
      case "/theme.js":
        return send(res, 200, "text/javascript; charset=utf-8", THEME_JS);
      case "/app.css":
        return send(res, 200, "text/css; charset=utf-8", assets.css);
      case "/api/state":
        return send(res, 200, "application/json", last);
      case "/api/events": {
        res.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          connection: "keep-alive",
          ...SECURITY_HEADERS,
        });
        res.write(`retry: 2000\nevent: state\ndata: ${last}\n\n`);
        streams.add(res);
        req.on("close", () => streams.delete(res));
        return;
      }
      default:
        return send(res, 404, "text/plain; charset=utf-8", "not found\n");
    }
  });
  // An empty host (an exported but empty variable) would mean every interface: treat it as unset.
  const bind = p.host === undefined || p.host === "" ? "127.0.0.1" : p.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (cause) => reject(new DashboardServerError(`cannot listen on ${bind}:${p.port ?? 0}`, { cause })));
    server.listen(p.port ?? 0, bind, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  p.logger.info({ url }, "dashboard listening");
  return {
    url,
    close: async () => {
      unsubscribe();
      clearInterval(keepAlive);
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function withoutClock(text: string): string {
  return text.replace(/"updatedAt":\d+,/, "").replace(/"scrapedAt":\d+,/g, "");
}
