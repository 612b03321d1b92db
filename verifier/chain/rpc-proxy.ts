import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import type { Eip1193Provider } from "./rpc";

/**
 * Test support, but a real HTTP JSON-RPC server: forwards to an upstream EIP-1193 provider (e.g.
 * `hre.network.provider`, giving the in-process Hardhat network an HTTP endpoint) and injects
 * faults on demand.
 */

export type RpcFault =
  /** Answer with a JSON-RPC error; with `forward`, the request still reaches upstream first (lost answer). */
  | { kind: "error"; code?: number; message?: string; data?: string; forward?: boolean }
  /** Answer with this HTTP status and no JSON-RPC body. */
  | { kind: "http"; status: number }
  /** Reset the connection without an answer. */
  | { kind: "drop" }
  /** Never answer (until the proxy closes). */
  | { kind: "hang" }
  /** Answer `eth_blockNumber` and `eth_getBlockByNumber("latest"|"pending")` as if the head were `blockNumber`. */
  | { kind: "stale"; blockNumber: number };

export interface RpcFaultRule {
  fault: RpcFault;
  /** Only these methods (default: all; for `stale`, the head queries). */
  methods?: string[];
  /** Finer selection on the request. */
  match?: (method: string, params: unknown[]) => boolean;
  /** Apply to this many matching requests, then retire. @default unlimited */
  times?: number;
}

export interface RpcProxyRequest {
  method: string;
  params: unknown[];
  /** The fault kind applied, if any. */
  fault?: RpcFault["kind"];
}

export interface StartRpcProxyParameters {
  upstream: Eip1193Provider;
  /** @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  logger?: Logger;
}

export interface RpcProxy {
  readonly url: string;
  /** Every JSON-RPC request seen, in arrival order. */
  readonly requests: RpcProxyRequest[];
  /** Add a rule; rules are checked in insertion order and the first match applies. */
  addFault(rule: RpcFaultRule): void;
  /** Replace all rules by this one (or none). */
  setFault(rule: RpcFaultRule | null): void;
  clearFaults(): void;
  /** Requests seen for one method. */
  count(method: string): number;
  close(): Promise<void>;
}

class RpcProxyError extends UPowError {
  override readonly name: string = "RpcProxyError";
}

interface JsonRpcRequest {
  jsonrpc?: string;
  id?: unknown;
  method: string;
  params?: unknown[];
}

type Outcome = { kind: "answer"; body: unknown } | { kind: "hang" } | { kind: "drop" } | { kind: "http"; status: number };

const HEAD_METHODS = ["eth_blockNumber", "eth_getBlockByNumber"];

export async function startRpcProxy(params: StartRpcProxyParameters): Promise<RpcProxy> {
  const { upstream, logger } = params;
  let rules: Array<RpcFaultRule & { used: number }> = [];
  const requests: RpcProxyRequest[] = [];

  function pickRule(method: string, rpcParams: unknown[]): RpcFaultRule | undefined {
    for (const rule of rules) {
      if (rule.times !== undefined && rule.used >= rule.times) continue;
      const methods = rule.methods ?? (rule.fault.kind === "stale" ? HEAD_METHODS : undefined);
      if (methods && !methods.includes(method)) continue;
      if (rule.fault.kind === "stale" && method === "eth_getBlockByNumber" && !isHeadTag(rpcParams[0])) continue;
      if (rule.match && !rule.match(method, rpcParams)) continue;
      rule.used += 1;
      return rule;
    }
    return undefined;
  }

  async function forward(req: JsonRpcRequest): Promise<unknown> {
    try {
      const result = await upstream.request({ method: req.method, params: req.params ?? [] });
      return { jsonrpc: "2.0", id: req.id ?? null, result: result ?? null };
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; data?: unknown };
      return {
        jsonrpc: "2.0",
        id: req.id ?? null,
        error: {
          code: typeof e.code === "number" ? e.code : -32603,
          message: typeof e.message === "string" ? e.message : String(err),
          data: e.data,
        },
      };
    }
  }

  async function handleOne(req: JsonRpcRequest): Promise<Outcome> {
    const rpcParams = Array.isArray(req.params) ? req.params : [];
    const rule = pickRule(req.method, rpcParams);
    requests.push({ method: req.method, params: rpcParams, fault: rule?.fault.kind });
    if (!rule) return { kind: "answer", body: await forward(req) };
    const fault = rule.fault;
    logger?.debug({ method: req.method, fault: fault.kind }, "rpc proxy fault");
    switch (fault.kind) {
      case "hang":
      case "drop":
        return { kind: fault.kind };
      case "http":
        return { kind: "http", status: fault.status };
      case "error":
        if (fault.forward) await forward(req);
        return {
          kind: "answer",
          body: {
            jsonrpc: "2.0",
            id: req.id ?? null,
            error: { code: fault.code ?? -32000, message: fault.message ?? "injected fault", data: fault.data },
          },
        };
      case "stale": {
        const tag = `0x${fault.blockNumber.toString(16)}`;
        if (req.method === "eth_blockNumber") {
          return { kind: "answer", body: { jsonrpc: "2.0", id: req.id ?? null, result: tag } };
        }
        return {
          kind: "answer",
          body: await forward({ ...req, params: [tag, ...rpcParams.slice(1)] }),
        };
      }
    }
  }

  const server = http.createServer((request, response) => {
    if (request.method !== "POST") {
      response.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      void (async () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          response.writeHead(400, { "content-type": "application/json" });
          response.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } }));
          return;
        }
        const batch = Array.isArray(parsed);
        const items = (batch ? parsed : [parsed]) as JsonRpcRequest[];
        if (items.some((i) => typeof i !== "object" || i === null || typeof i.method !== "string")) {
          response.writeHead(400, { "content-type": "application/json" });
          response.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request" } }));
          return;
        }
        const outcomes = await Promise.all(items.map(handleOne));
        const hard = outcomes.find((o) => o.kind !== "answer");
        if (hard?.kind === "hang") return; // the socket stays open until close()
        if (hard?.kind === "drop") {
          request.socket.destroy();
          return;
        }
        if (hard?.kind === "http") {
          response.writeHead(hard.status, { "content-type": "text/plain" }).end("injected HTTP fault");
          return;
        }
        const bodies = outcomes.map((o) => (o.kind === "answer" ? o.body : null));
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(batch ? bodies : bodies[0]));
      })().catch((err: unknown) => {
        logger?.error({ err }, "rpc proxy failed");
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new RpcProxyError("rpc proxy could not listen", { cause: err })));
    server.listen(params.port ?? 0, params.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${params.host ?? "127.0.0.1"}:${address.port}`;

  return {
    url,
    requests,
    addFault(rule) {
      rules.push({ ...rule, used: 0 });
    },
    setFault(rule) {
      rules = rule ? [{ ...rule, used: 0 }] : [];
    },
    clearFaults() {
      rules = [];
    },
    count(method) {
      return requests.filter((r) => r.method === method).length;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // ends hanging requests too
      });
    },
  };
}

function isHeadTag(tag: unknown): boolean {
  return tag === "latest" || tag === "pending";
}
