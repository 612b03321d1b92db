/**
 * Content-addressed local directory store. Layout `<root>/ab/cdef…` (first two hex chars shard the
 * directory). Every write goes to `<root>/.tmp/<random>.part`, is fsynced, hashed while written and
 * then renamed under its final name, so a final name never holds a partial or unverified file.
 * Concurrent writers of the same content each use their own temp file; the rename is atomic and
 * the content identical, so the last rename wins harmlessly.
 */
import { createHash, randomUUID, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { ArtifactHashMismatchError, ArtifactNotFoundError, ArtifactTooLargeError, InvalidStoreOptionError } from "./errors";
import { assertArtifactHash, sha256Hex } from "./hash";

const TEMP_DIR = ".tmp";
const SHARD_PATTERN = /^[0-9a-f]{2}$/;
const REST_PATTERN = /^[0-9a-f]{62}$/;

export interface ArtifactWriterOptions {
  /** Abort with ArtifactTooLargeError once more than this many bytes are written. @default unlimited */
  maxBytes?: number;
  /** When set, commit() refuses (ArtifactHashMismatchError) bytes that hash to anything else. */
  expectedHash?: string;
  /** Names the origin of the bytes in errors (a URI). @default "local" */
  source?: string;
}

export interface PutOptions extends ArtifactWriterOptions {}

/** Bytes in flight to the store: hashed as written, published only by commit(). */
class ArtifactWriter {
  private readonly hasher: Hash = createHash("sha256");
  private written = 0;
  private done = false;

  /** @internal use LocalStore.createWriter */
  constructor(
    private readonly store: LocalStore,
    private readonly handle: FileHandle,
    readonly tempPath: string,
    private readonly options: ArtifactWriterOptions,
  ) {}

  get bytesWritten(): number {
    return this.written;
  }

  /** Appends a chunk. Throws ArtifactTooLargeError (before writing it) when it would break maxBytes. */
  async write(chunk: Uint8Array): Promise<void> {
    const max = this.options.maxBytes;
    if (max !== undefined && this.written + chunk.byteLength > max) {
      throw new ArtifactTooLargeError(max, this.written + chunk.byteLength, this.options.source ?? "local", false);
    }
    this.hasher.update(chunk);
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await this.handle.write(chunk, offset, chunk.byteLength - offset);
      offset += bytesWritten;
    }
    this.written += chunk.byteLength;
  }

  /**
   * fsyncs, checks the hash, renames into place. Returns the hash. On mismatch the temp file is
   * removed and ArtifactHashMismatchError thrown.
   */
  async commit(): Promise<string> {
    if (this.done) throw new InvalidStoreOptionError("writer", "committed", "writer already finished");
    this.done = true;
    try {
      await this.handle.sync();
      await this.handle.close();
      const hash = this.hasher.digest("hex");
      const expected = this.options.expectedHash;
      if (expected !== undefined && hash !== expected) {
        throw new ArtifactHashMismatchError(expected, hash, this.options.source ?? "local");
      }
      await this.store.publish(this.tempPath, hash);
      return hash;
    } catch (error) {
      await removeQuietly(this.tempPath);
      throw error;
    }
  }

  /** Drops the temp file; safe to call after a failed commit or twice. */
  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.handle.close().catch(() => undefined);
    }
    await removeQuietly(this.tempPath);
  }
}

export class LocalStore {
  readonly root: string;
  private readonly tempDir: string;

  constructor(root: string) {
    if (typeof root !== "string" || root.length === 0) throw new InvalidStoreOptionError("root", root, "must be a non-empty path");
    this.root = root;
    this.tempDir = join(root, TEMP_DIR);
  }

  /** Creates the directory (and its temp area) when missing, 0700 like the data dir around it (V8.5). */
  static async open(root: string): Promise<LocalStore> {
    const store = new LocalStore(root);
    await mkdir(store.tempDir, { recursive: true, mode: 0o700 });
    return store;
  }

  /** Where the artifact lives or would live; does not check that it exists. */
  path(hash: string): string {
    assertArtifactHash(hash);
    return join(this.root, hash.slice(0, 2), hash.slice(2));
  }

  async has(hash: string): Promise<boolean> {
    try {
      return (await stat(this.path(hash))).isFile();
    } catch (error) {
      if (isErrno(error, "ENOENT")) return false;
      throw error;
    }
  }

  /** Size in bytes; ArtifactNotFoundError when absent. */
  async size(hash: string): Promise<number> {
    try {
      return (await stat(this.path(hash))).size;
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new ArtifactNotFoundError(hash, this.root, { cause: error });
      throw error;
    }
  }

  /** Whole artifact in memory (small artifacts: manifests, batches); use path() for large ones. */
  async get(hash: string): Promise<Buffer> {
    try {
      return await readFile(this.path(hash));
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new ArtifactNotFoundError(hash, this.root, { cause: error });
      throw error;
    }
  }

  /** Every stored hash, sorted. Ignores the temp area and anything not shaped like an address. */
  async list(): Promise<string[]> {
    const hashes: string[] = [];
    for (const shard of await readdir(this.root, { withFileTypes: true })) {
      if (!shard.isDirectory() || !SHARD_PATTERN.test(shard.name)) continue;
      for (const entry of await readdir(join(this.root, shard.name), { withFileTypes: true })) {
        if (entry.isFile() && REST_PATTERN.test(entry.name)) hashes.push(shard.name + entry.name);
      }
    }
    return hashes.sort();
  }

  /** Re-hashes the stored file (e.g. after a disk scare); true when it still matches its name. */
  async verify(hash: string): Promise<boolean> {
    const hasher = createHash("sha256");
    try {
      for await (const chunk of createReadStream(this.path(hash))) hasher.update(chunk as Buffer);
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new ArtifactNotFoundError(hash, this.root, { cause: error });
      throw error;
    }
    return hasher.digest("hex") === hash;
  }

  /** Starts an atomic write; the caller must commit() or abort(). */
  async createWriter(options: ArtifactWriterOptions = {}): Promise<ArtifactWriter> {
    if (options.maxBytes !== undefined && !(Number.isSafeInteger(options.maxBytes) && options.maxBytes >= 0)) {
      throw new InvalidStoreOptionError("maxBytes", options.maxBytes, "must be a non-negative safe integer");
    }
    if (options.expectedHash !== undefined) assertArtifactHash(options.expectedHash);
    await mkdir(this.tempDir, { recursive: true, mode: 0o700 });
    const tempPath = join(this.tempDir, `${randomUUID()}.part`);
    const handle = await open(tempPath, "wx", 0o644);
    return new ArtifactWriter(this, handle, tempPath, options);
  }

  /** Stores bytes or a stream and returns its hash. */
  async put(data: Uint8Array | Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<string> {
    if (data instanceof Uint8Array) {
      // Known content: skip the write when it is already there.
      const hash = sha256Hex(data);
      if (options.expectedHash !== undefined && options.expectedHash !== hash) {
        assertArtifactHash(options.expectedHash);
        throw new ArtifactHashMismatchError(options.expectedHash, hash, options.source ?? "local");
      }
      if (options.maxBytes !== undefined && data.byteLength > options.maxBytes) {
        throw new ArtifactTooLargeError(options.maxBytes, data.byteLength, options.source ?? "local", true);
      }
      if (await this.has(hash)) return hash;
    }
    const chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = data instanceof Uint8Array ? [data] : data;
    const writer = await this.createWriter(options);
    try {
      for await (const chunk of chunks) {
        await writer.write(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array));
      }
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer.commit();
  }

  /** @internal Moves a verified, fsynced temp file under its final name and syncs the directory. */
  async publish(tempPath: string, hash: string): Promise<void> {
    const finalPath = this.path(hash);
    const shardDir = join(this.root, hash.slice(0, 2));
    await mkdir(shardDir, { recursive: true, mode: 0o700 });
    await rename(tempPath, finalPath);
    await syncDirectory(shardDir);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
