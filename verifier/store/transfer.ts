/**
 * One try of one mirror: open it, refuse a declared size above the limit at once, stream the body
 * into an ArtifactWriter (hashing as it goes) under an idle and an overall timeout, and commit.
 * Any failure removes the temp file, so nothing partial ever stays in the store.
 */
import { ArtifactTimeoutError, ArtifactTooLargeError, ArtifactTruncatedError } from "./errors";
import type { LocalStore } from "./localStore";
import { openSource, type OpenedSource } from "./sources";
import type { ArtifactUrlPolicy } from "./urlPolicy";
import { UPowError } from "../errors";

export interface TransferParameters {
  store: LocalStore;
  hash: string;
  uri: string;
  maxBytes: number;
  /** Limit on the whole try, headers included. */
  timeoutMs: number;
  /** Limit on the wait for the response and then between two chunks. */
  idleTimeoutMs: number;
  /** Policy for URLs a job or index names; undefined: operator-given mirrors (file:// too). */
  urlPolicy?: ArtifactUrlPolicy;
}

/** Returns the hash once the verified bytes are in the store. */
export async function transferOnce(params: TransferParameters): Promise<string> {
  const { store, hash, uri, maxBytes } = params;
  const writer = await store.createWriter({ maxBytes, expectedHash: hash, source: uri });
  const controller = new AbortController();
  let bytes = 0;
  let timeout: ArtifactTimeoutError | undefined;
  const expire = (kind: "idle" | "overall", ms: number) => () => {
    timeout = new ArtifactTimeoutError(kind, ms, bytes, uri);
    controller.abort(timeout);
  };
  const overallTimer = setTimeout(expire("overall", params.timeoutMs), params.timeoutMs);
  let idleTimer = setTimeout(expire("idle", params.idleTimeoutMs), params.idleTimeoutMs);
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(expire("idle", params.idleTimeoutMs), params.idleTimeoutMs);
  };

  let source: OpenedSource | undefined;
  let bodyStarted = false;
  try {
    source = await openSource(uri, hash, controller.signal, params.urlPolicy);
    if (source.declaredBytes !== undefined && source.declaredBytes > maxBytes) {
      throw new ArtifactTooLargeError(maxBytes, source.declaredBytes, uri, true);
    }
    touch();
    bodyStarted = true;
    for await (const chunk of source.body) {
      touch();
      await writer.write(chunk as Buffer);
      bytes = writer.bytesWritten;
    }
    if (timeout) throw timeout;
    if (source.declaredBytes !== undefined && bytes < source.declaredBytes) {
      throw new ArtifactTruncatedError(bytes, source.declaredBytes, uri);
    }
    clearTimeout(idleTimer);
    return await writer.commit();
  } catch (error) {
    await writer.abort();
    if (timeout) throw timeout;
    if (error instanceof UPowError) throw error;
    // The body stream broke after the headers: the mirror dropped the connection mid-transfer.
    if (bodyStarted) throw new ArtifactTruncatedError(bytes, source?.declaredBytes, uri, { cause: error });
    throw error;
  } finally {
    clearTimeout(overallTimer);
    clearTimeout(idleTimer);
    source?.destroy();
  }
}
