/**
 * Artifact storage beyond one host (issue 16, item 2).
 *
 * Design: a remote store is a write-only mirror of the LocalStore under the SAME addressing: the
 * object of sha256 `h` is readable at `<publicBaseUrl>/artifacts/<h>`, exactly like the HTTP
 * store's paths. So a remote store's public base URL is just one more artifact base URL (in a
 * result index's `artifactBaseUrls`, in a manifest's URIs), and readers need no change: they fetch
 * it over http(s) with the existing client (fetchArtifact), which hash-checks every byte. Nothing
 * read back from the remote is trusted, so the remote needs no integrity of its own; a bucket that
 * serves other bytes is a mirror that fails (ArtifactHashMismatchError), like any HTTP one.
 * Writers (worker, requester) put into their LocalStore first (it stays the source of truth for
 * serving and disputes) and then mirror the same addresses here (`mirrorToRemote`), before the
 * URLs that name them go on chain. The S3 implementation is s3Store.ts.
 */
import type { LocalStore } from "./localStore";

export interface RemotePutOptions {
  /** When set, put() refuses (ArtifactHashMismatchError) bytes that hash to anything else. */
  expectedHash?: string;
}

/** Bytes in memory, or a file read (and hashed) while it is uploaded. */
export type RemotePutSource = Uint8Array | { readonly path: string };

export interface RemoteArtifactStore {
  /** Base URL readers use: `<publicBaseUrl>/artifacts/<sha256>` serves the object anonymously. */
  readonly publicBaseUrl: string;
  /** Where the objects go, for logs and errors (e.g. `s3://bucket/prefix`). */
  readonly location: string;
  /** Stores the bytes under their sha256 (skipped when already there) and returns that address. */
  put(source: RemotePutSource, options?: RemotePutOptions): Promise<string>;
  /** Whether an object is stored under this address. */
  has(hash: string): Promise<boolean>;
}

/**
 * Copies the given addresses from the local store to the remote one, in order; each must be in
 * the local store (ArtifactNotFoundError otherwise). Returns how many were uploaded (not skipped).
 */
export async function mirrorToRemote(local: LocalStore, remote: RemoteArtifactStore, hashes: Iterable<string>): Promise<number> {
  let uploaded = 0;
  for (const hash of new Set(hashes)) {
    await local.size(hash); // a typed ArtifactNotFoundError naming the local store, not an ENOENT
    if (await remote.has(hash)) continue;
    await remote.put({ path: local.path(hash) }, { expectedHash: hash });
    uploaded++;
  }
  return uploaded;
}
