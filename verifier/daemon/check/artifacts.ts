/**
 * Fetching what workers and requesters serve, with every byte checked before use: content
 * addresses (sha256) by the store client, state and batch hashes (fileHash) here, size limits
 * always. A fetch that fails is `unavailable` (pursued on chain by a chunk challenge, §10.6);
 * bytes that match their commitment but do not parse are the committer's problem, not ours.
 * Every URL comes from a job or an index, so each passes the operator's URL policy (V8.4) first; a
 * refused one is never tried and counts as not served.
 */
import type { Logger } from "pino";
import {
  ArtifactFetchFailedError,
  ArtifactHashMismatchError,
  ArtifactTooLargeError,
  ArtifactUrlRefusedError,
  checkArtifactBases,
  fetchArtifact,
  type ArtifactUrlPolicy,
  type LocalStore,
} from "../../store";
import type { Hash } from "../../protocol/hashing";
import { fileHashOfSync } from "../../engine/statehash";
import { readSafetensors } from "../../engine/safetensors";
import type { TensorMap } from "../../engine/tensor";
import { UPowError } from "../../errors";
import { ArtifactProblemError } from "../errors";

const ARTIFACT_URI = /^(https?:\/\/[^\s?#]+?)\/artifacts\/([0-9a-f]{64})$/;

export interface ArtifactClientParameters {
  store: LocalStore;
  logger: Logger;
  /** Which job-named URLs may be fetched (V8.4). */
  urlPolicy: ArtifactUrlPolicy;
  /** One try of one mirror. @default 30_000 */
  timeoutMs?: number;
  /** Silence limit within a try. @default 10_000 */
  idleTimeoutMs?: number;
  /** Extra rounds for transient failures. @default 2 */
  retries?: number;
  /** Backoff before the second round. @default 200 */
  backoffMs?: number;
}

export interface LoadedState {
  bytes: Buffer;
  state: TensorMap;
  stateHash: Hash;
}

/** `<base>/artifacts/<sha256>` → base and address; null when the URI has another shape. */
export function splitArtifactUri(uri: string): { base: string; sha256: string } | null {
  const m = ARTIFACT_URI.exec(uri);
  return m ? { base: m[1]!, sha256: m[2]! } : null;
}

export class ArtifactClient {
  readonly #p: ArtifactClientParameters;

  constructor(params: ArtifactClientParameters) {
    this.#p = params;
  }

  /** Bytes whose sha256 is `sha256`, from any of `uris`. */
  async fetch(sha256: string, uris: readonly string[], what: string, maxBytes: number): Promise<Buffer> {
    const address = sha256.replace(/^0x/, "").toLowerCase();
    try {
      const file = await fetchArtifact({
        hash: address,
        uris,
        store: this.#p.store,
        maxBytes,
        timeoutMs: this.#p.timeoutMs ?? 30_000,
        idleTimeoutMs: this.#p.idleTimeoutMs ?? 10_000,
        retries: this.#p.retries ?? 2,
        backoffMs: this.#p.backoffMs ?? 200,
        logger: this.#p.logger,
        urlPolicy: this.#p.urlPolicy,
      });
      void file;
      return await this.#p.store.get(address);
    } catch (cause) {
      const reason = cause instanceof UPowError ? cause.shortMessage : String(cause);
      throw new ArtifactProblemError(`${what} could not be fetched: ${reason}`, {
        cause,
        unavailable: true,
        transient: noBytesArrived(cause),
        details: { what, sha256: address },
      });
    }
  }

  /** Bytes named by an artifact URI (`<base>/artifacts/<sha256>`), checked against its address. */
  async fetchUri(uri: string, what: string, maxBytes: number): Promise<Buffer> {
    const parts = splitArtifactUri(uri);
    if (!parts)
      throw new ArtifactProblemError(`${what} URI is not <base>/artifacts/<sha256>`, {
        unavailable: false,
        details: { what, uri: uri.slice(0, 200) },
      });
    return this.fetch(parts.sha256, [uri], what, maxBytes);
  }

  /**
   * A state (or batch) file: fetched by store address from `bases`, then its fileHash must be the
   * committed `stateHash` and it must parse as canonical safetensors.
   */
  async fetchState(stateHash: Hash, sha256: string, bases: readonly string[], what: string, maxBytes: number): Promise<LoadedState> {
    try {
      checkArtifactBases(bases, this.#p.urlPolicy);
    } catch (cause) {
      if (!(cause instanceof ArtifactUrlRefusedError)) throw cause;
      throw new ArtifactProblemError(`${what} could not be fetched: ${cause.shortMessage}`, {
        cause,
        unavailable: true,
        details: { what, sha256 },
      });
    }
    const uris = bases.map((b) => `${b.replace(/\/+$/, "")}/artifacts/${sha256.replace(/^0x/, "")}`);
    return this.checkState(await this.fetch(sha256, uris, what, maxBytes), stateHash, what);
  }

  /**
   * Bytes that came by another way (a signed state request): kept only if their sha256 is the
   * committed address, then checked like fetchState's. Wrong bytes are the server's doing.
   */
  async acceptState(bytes: Uint8Array, stateHash: Hash, sha256: string, what: string): Promise<LoadedState> {
    const address = sha256.replace(/^0x/, "").toLowerCase();
    try {
      await this.#p.store.put(bytes, { expectedHash: address });
    } catch (cause) {
      throw new ArtifactProblemError(`${what} does not match its committed address`, {
        cause,
        unavailable: true,
        details: { what, sha256: address },
      });
    }
    return this.checkState(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), stateHash, what);
  }

  private checkState(bytes: Buffer, stateHash: Hash, what: string): LoadedState {
    const actual = fileHashOfSync(bytes);
    if (actual !== stateHash.toLowerCase()) {
      // The address matched but the file hash does not: the index pointed at other bytes. For the
      // dispute this is the same as not serving the committed state.
      throw new ArtifactProblemError(`${what} does not match its committed hash`, {
        unavailable: true,
        details: { what, want: stateHash, got: actual },
      });
    }
    let state: TensorMap;
    try {
      state = readSafetensors(bytes);
    } catch (cause) {
      throw new ArtifactProblemError(`${what} matches its hash but is not valid safetensors`, {
        cause,
        unavailable: false,
        details: { what, stateHash },
      });
    }
    return { bytes, state, stateHash: actual };
  }
}

/**
 * Whether every try failed before delivering checkable bytes (network, timeout, HTTP status, cut
 * transfer), which our own side can cause too. Wrong or oversize bytes are the server's doing, and
 * so is a URL the policy refuses (it will be refused again).
 */
function noBytesArrived(err: unknown): boolean {
  if (!(err instanceof ArtifactFetchFailedError)) return false;
  return (
    err.errors.length > 0 &&
    err.errors.every(
      (e) => !(e instanceof ArtifactHashMismatchError) && !(e instanceof ArtifactTooLargeError) && !(e instanceof ArtifactUrlRefusedError),
    )
  );
}
