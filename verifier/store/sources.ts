/**
 * Opens one mirror URI as a byte stream: `http(s)://` (node:http, no redirects, identity
 * encoding) or `file://`. Status and existence problems become typed errors here; the body is
 * checked by transfer.ts. With a URL policy (URLs a job or index names, V8.4) only URLs that pass
 * it are opened, and host names are resolved through its guarded lookup.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { open } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { addAbortSignal, type Readable } from "node:stream";
import { ArtifactHttpError, ArtifactNetworkError, ArtifactNotFoundError, ArtifactUrlRefusedError, UnsupportedUriError } from "./errors";
import { isErrno } from "./localStore";
import { checkArtifactUrl, guardedLookup, type ArtifactUrlPolicy } from "./urlPolicy";

export interface OpenedSource {
  readonly body: Readable;
  /** Size announced before the body (Content-Length, file size); undefined when not announced. */
  readonly declaredBytes: number | undefined;
  /** Releases the connection / file. Safe to call more than once. */
  destroy(): void;
}

export type SourceKind = "http" | "file";

/** Parses and classifies a mirror URI; UnsupportedUriError for anything else. */
function classifyUri(uri: string): { kind: SourceKind; url: URL } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UnsupportedUriError(uri, "not a valid URL");
  }
  if (url.protocol === "http:" || url.protocol === "https:") return { kind: "http", url };
  if (url.protocol === "file:") return { kind: "file", url };
  throw new UnsupportedUriError(uri, `scheme '${url.protocol}' is not http:, https: or file:`);
}

export async function openSource(uri: string, hash: string, signal: AbortSignal, policy?: ArtifactUrlPolicy): Promise<OpenedSource> {
  if (policy) return openHttp(uri, checkArtifactUrl(uri, policy), hash, signal, policy);
  const { kind, url } = classifyUri(uri);
  return kind === "http" ? openHttp(uri, url, hash, signal) : openFile(uri, url, hash, signal);
}

function openHttp(uri: string, url: URL, hash: string, signal: AbortSignal, policy?: ArtifactUrlPolicy): Promise<OpenedSource> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<OpenedSource>((resolve, reject) => {
    // agent: false → a connection of our own, so a stalled transfer cannot poison a pooled socket.
    const req = request(url, {
      method: "GET",
      agent: false,
      signal,
      headers: { "Accept-Encoding": "identity" },
      ...(policy ? { lookup: guardedLookup(uri, policy) } : {}),
    });
    req.on("error", (error) => {
      if (signal.aborted) reject(signal.reason);
      else reject(error instanceof ArtifactUrlRefusedError ? error : new ArtifactNetworkError(uri, error));
    });
    req.once("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        req.destroy();
        reject(status === 404 || status === 410 ? new ArtifactNotFoundError(hash, uri) : new ArtifactHttpError(status, uri));
        return;
      }
      resolve({ body: res, declaredBytes: parseContentLength(res.headers["content-length"]), destroy: () => req.destroy() });
    });
    req.end();
  });
}

/** A Content-Length we can rely on, else undefined (malformed ones leave the size unknown). */
function parseContentLength(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d{1,16}$/.test(header)) return undefined;
  const value = Number(header);
  return Number.isSafeInteger(value) ? value : undefined;
}

async function openFile(uri: string, url: URL, hash: string, signal: AbortSignal): Promise<OpenedSource> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (error) {
    throw new UnsupportedUriError(uri, error instanceof Error ? error.message : "bad file URL");
  }
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (isErrno(error, "ENOENT") || isErrno(error, "ENOTDIR")) throw new ArtifactNotFoundError(hash, uri, { cause: error });
    throw new ArtifactNetworkError(uri, error);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    // A directory, FIFO or device is never an artifact (and a FIFO could block forever).
    await handle.close();
    throw new ArtifactNotFoundError(hash, uri);
  }
  // The stream owns (and closes) the handle from here; aborting the signal destroys it.
  const body = addAbortSignal(signal, handle.createReadStream({ highWaterMark: 1 << 20 }));
  return { body, declaredBytes: info.size, destroy: () => body.destroy() };
}
