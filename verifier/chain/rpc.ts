import { JsonRpcApiProvider, Network } from "ethers";
import type { JsonRpcError, JsonRpcPayload, JsonRpcResult } from "ethers";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { decodeRevertData, revertDataOf } from "./revert";

/** The EIP-1193 shape (e.g. `hre.network.provider`) accepted for in-process use. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}

/** One endpoint failed at the transport level (network error, HTTP status, malformed body). */
class RpcTransportError extends UPowError {
  override readonly name: string = "RpcTransportError";
}

/** One endpoint did not answer within `timeoutMs`. */
class RpcTimeoutError extends RpcTransportError {
  override readonly name: string = "RpcTimeoutError";
}

/** Every endpoint failed on every retry round. */
export class RpcUnavailableError extends UPowError {
  override readonly name: string = "RpcUnavailableError";
}

/** The parameters were unusable (no endpoint, bad numbers). */
export class RpcConfigError extends UPowError {
  override readonly name: string = "RpcConfigError";
}

export interface RpcErrorInfo {
  endpoint: string;
  method: string;
  error: RpcTransportError;
}

export interface CreateProviderParameters {
  /** HTTP(S) JSON-RPC URLs, tried in order; the last one that worked is tried first next time. */
  urls?: string[];
  /** An in-process EIP-1193 provider, used as one more endpoint (after `urls`). */
  eip1193?: Eip1193Provider;
  /** Per-request timeout of one endpoint. @default 10_000 */
  timeoutMs?: number;
  /** Extra rounds over all endpoints after the first one fails everywhere. @default 3 */
  retries?: number;
  /** Backoff before the second round, doubled every round. @default 200 */
  backoffMs?: number;
  /** Upper bound of the backoff. @default 5_000 */
  maxBackoffMs?: number;
  /** Fix the chain id (no detection request); otherwise it is detected once. */
  chainId?: bigint | number;
  /** Polling interval of ethers' `wait()` and event subscriptions. @default 1_000 */
  pollingIntervalMs?: number;
  logger: Logger;
  /** Called for every transport failure (metrics: rpc_errors). */
  onRpcError?: (info: RpcErrorInfo) => void;
}

export type CreateProviderReturnType = UPowProvider;

interface Endpoint {
  /** Safe to log: origin only, since paths and queries of RPC URLs often hold API keys. */
  label: string;
  call(payload: JsonRpcPayload, timeoutMs: number): Promise<JsonRpcResult | JsonRpcError>;
}

/**
 * An ethers v6 provider over several endpoints with per-request timeouts, immediate fallback to
 * the next endpoint and exponential backoff between rounds. JSON-RPC error answers (reverts,
 * nonce too low) are answers, not failures: they go back to ethers unchanged, which maps them
 * to its typed errors. Only transport failures move on to the next endpoint.
 */
export class UPowProvider extends JsonRpcApiProvider {
  readonly #endpoints: Endpoint[];
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #logger: Logger;
  readonly #onRpcError?: (info: RpcErrorInfo) => void;
  #preferred = 0;

  constructor(endpoints: Endpoint[], params: CreateProviderParameters) {
    const staticNetwork = params.chainId === undefined ? true : Network.from(BigInt(params.chainId));
    // cacheTimeout -1: no 250 ms result cache, so a fresh block number is never hidden from us.
    super(undefined, {
      staticNetwork,
      batchMaxCount: 1,
      cacheTimeout: -1,
      pollingInterval: params.pollingIntervalMs ?? 1_000,
    });
    this.#endpoints = endpoints;
    this.#timeoutMs = params.timeoutMs ?? 10_000;
    this.#retries = params.retries ?? 3;
    this.#backoffMs = params.backoffMs ?? 200;
    this.#maxBackoffMs = params.maxBackoffMs ?? 5_000;
    this.#logger = params.logger;
    this.#onRpcError = params.onRpcError;
  }

  /** Labels of the endpoints, in configuration order (safe to log). */
  get endpointLabels(): string[] {
    return this.#endpoints.map((e) => e.label);
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<Array<JsonRpcResult | JsonRpcError>> {
    const payloads = Array.isArray(payload) ? payload : [payload];
    return Promise.all(payloads.map((p) => this.#sendOne(p)));
  }

  async #sendOne(payload: JsonRpcPayload): Promise<JsonRpcResult | JsonRpcError> {
    const n = this.#endpoints.length;
    const failures: string[] = [];
    let lastError: RpcTransportError | undefined;
    for (let round = 0; round <= this.#retries; round++) {
      if (round > 0) {
        await sleep(Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (round - 1)));
      }
      const start = this.#preferred;
      for (let i = 0; i < n; i++) {
        const index = (start + i) % n;
        const endpoint = this.#endpoints[index];
        try {
          const answer = await endpoint.call(payload, this.#timeoutMs);
          this.#preferred = index;
          return answer;
        } catch (err) {
          const error =
            err instanceof RpcTransportError
              ? err
              : new RpcTransportError("RPC transport failed", { cause: err, details: { endpoint: endpoint.label } });
          lastError = error;
          failures.push(`${endpoint.label}: ${error.shortMessage}`);
          this.#logger.warn({ endpoint: endpoint.label, method: payload.method, round, err: error.shortMessage }, "rpc endpoint failed");
          this.#onRpcError?.({ endpoint: endpoint.label, method: payload.method, error });
        }
      }
    }
    throw new RpcUnavailableError("every RPC endpoint failed", {
      cause: lastError,
      details: { method: payload.method, attempts: failures.length, last: failures.slice(-n) },
    });
  }
}

/**
 * Build the resilient provider. At least one of `urls` / `eip1193` must be given.
 * Call `provider.destroy()` when done (it owns polling timers).
 */
export function createProvider(params: CreateProviderParameters): CreateProviderReturnType {
  const urls = params.urls ?? [];
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new RpcConfigError("RPC URL is not a valid URL", { cause, details: { url: redactUrl(url) } });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new RpcConfigError("RPC URL must be http or https", { details: { url: redactUrl(url) } });
    }
  }
  const endpoints: Endpoint[] = urls.map((url, i) => httpEndpoint(url, `${i}:${redactUrl(url)}`));
  if (params.eip1193) endpoints.push(eip1193Endpoint(params.eip1193, `${endpoints.length}:eip1193`));
  if (endpoints.length === 0) throw new RpcConfigError("no RPC endpoint given (urls or eip1193)");
  for (const [name, v] of [
    ["timeoutMs", params.timeoutMs],
    ["retries", params.retries],
    ["backoffMs", params.backoffMs],
  ] as const) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) {
      throw new RpcConfigError(`${name} must be a non-negative number`, { details: { [name]: v } });
    }
  }
  return new UPowProvider(endpoints, params);
}

/** Origin only (no credentials, path or query), for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "<invalid url>";
  }
}

function httpEndpoint(url: string, label: string): Endpoint {
  return {
    label,
    async call(payload, timeoutMs) {
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(timeoutMs),
        });
        text = await response.text();
      } catch (cause) {
        if (isAbortError(cause)) {
          throw new RpcTimeoutError("RPC request timed out", { cause, details: { endpoint: label, timeoutMs } });
        }
        throw new RpcTransportError("RPC request failed", { cause, details: { endpoint: label } });
      }
      if (!response.ok) {
        throw new RpcTransportError(`RPC HTTP status ${response.status}`, {
          details: { endpoint: label, status: response.status },
        });
      }
      return parseJsonRpcAnswer(text, payload, label);
    },
  };
}

function parseJsonRpcAnswer(text: string, payload: JsonRpcPayload, label: string): JsonRpcResult | JsonRpcError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new RpcTransportError("RPC answer is not JSON", { cause, details: { endpoint: label } });
  }
  const answer = Array.isArray(body) ? body[0] : body;
  if (typeof answer !== "object" || answer === null) {
    throw new RpcTransportError("RPC answer is not a JSON-RPC object", { details: { endpoint: label } });
  }
  const a = answer as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
  if (a.error !== undefined && a.error !== null) {
    return {
      id: payload.id,
      error: {
        code: typeof a.error.code === "number" ? a.error.code : -32603,
        message: typeof a.error.message === "string" ? a.error.message : "unknown error",
        data: a.error.data,
      },
    };
  }
  if (!("result" in a)) {
    throw new RpcTransportError("RPC answer has neither result nor error", { details: { endpoint: label } });
  }
  return { id: payload.id, result: a.result };
}

function eip1193Endpoint(provider: Eip1193Provider, label: string): Endpoint {
  return {
    label,
    async call(payload, timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RpcTimeoutError("RPC request timed out", { details: { endpoint: label, timeoutMs } })),
          timeoutMs,
        );
      });
      try {
        const result = await Promise.race([provider.request({ method: payload.method, params: payload.params as unknown[] }), timeout]);
        return { id: payload.id, result };
      } catch (err) {
        if (err instanceof RpcTransportError) throw err;
        // An EIP-1193 provider throws {code, message, data} for JSON-RPC errors: those are answers.
        // Hardhat throws reverts as SolidityError with `data` and no code; 3 is "execution reverted".
        const e = err as { code?: unknown; message?: unknown; data?: unknown };
        const message = typeof e.message === "string" ? e.message : String(err);
        if (typeof e.code === "number" || typeof e.data === "string" || /revert|VM Exception/i.test(message)) {
          return {
            id: payload.id,
            error: { code: typeof e.code === "number" ? e.code : 3, message, data: e.data },
          };
        }
        // Hardhat's in-process provider throws reverts as SolidityError {data} without a code:
        // a revert is an answer too (JSON-RPC code 3, "execution reverted").
        if (typeof e.data === "string" && /^0x([0-9a-fA-F]{2})*$/.test(e.data)) {
          return {
            id: payload.id,
            error: { code: 3, message: typeof e.message === "string" ? e.message : "execution reverted", data: e.data },
          };
        }
        throw new RpcTransportError("EIP-1193 request failed", { cause: err, details: { endpoint: label } });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function isAbortError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === "TimeoutError" || name === "AbortError";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * All messages of an error and its nested causes / ethers `info.error` payloads, joined: node
 * error texts ("query returned more than 10000 results", "nonce too low") hide at varying depths.
 */
export function collectErrorText(err: unknown, depth = 0): string {
  if (depth > 6 || err === null || err === undefined) return "";
  if (typeof err === "string") return err;
  if (typeof err !== "object") return String(err);
  const e = err as { message?: unknown; shortMessage?: unknown; error?: unknown; info?: { error?: unknown }; cause?: unknown };
  const parts: string[] = [];
  // ethers names only the errors of the contract it called; the registry names every project error.
  const revertData = revertDataOf(err);
  if (revertData !== undefined) parts.push(`reverted: ${decodeRevertData(revertData).reason}`);
  if (typeof e.message === "string") parts.push(e.message);
  if (typeof e.shortMessage === "string") parts.push(e.shortMessage);
  for (const nested of [e.error, e.info?.error, e.cause]) {
    const text = collectErrorText(nested, depth + 1);
    if (text) parts.push(text);
  }
  return parts.join(" | ");
}
