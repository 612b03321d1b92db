/**
 * Content-addressed checkpoint directory of a training run:
 *   <dir>/objects/<sha256>.safetensors   state files, named by the plain sha256 of their bytes
 *   <dir>/index.json                     checkpoint i → {stateHash, file}, interval i → {stepRoot, ...}
 * Every write is temp file + rename, state before index, so a process crash leaves either the old or
 * the new index and every file the index names is complete. A durable write also fsyncs the file and
 * the directory; the trainer writes state files without (`durable: false`, off its critical path) and
 * calls flush() before it hands out a result. A file that a power cut lost after all is caught by the
 * hash check when a run resumes (loadState), which then falls back to an earlier checkpoint.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Hash } from "../protocol/hashing";
import { readSafetensors } from "./safetensors";
import type { TensorMap } from "./tensor";
import { contentAddress, hashStateBytes } from "./step";
import { CheckpointStoreError } from "./trainErrors";

/** What binds a directory to one job; a resume requires the same key. */
export interface JobKey {
  readonly jobId: string | null;
  readonly T: number;
  readonly k: number;
  readonly hp: Readonly<Record<string, number>>;
  readonly initialStateHash: Hash;
}

export interface CheckpointRecord {
  readonly i: number;
  readonly stateHash: Hash;
  /** Path relative to the directory, `objects/<sha256>.safetensors`. */
  readonly file: string;
}

export interface IntervalRecord {
  readonly i: number;
  readonly stepRoot: Hash;
  /** The k+1 state hashes of the interval (leaf j = state after global step i·k+j). */
  readonly stateHashes: readonly Hash[];
  /** Losses of the k steps. */
  readonly losses: readonly number[];
  /** With keepStepStates: files of the inner states (steps i·k+1 .. i·k+k-1). */
  readonly stepFiles?: readonly string[];
}

export interface CheckpointIndex {
  readonly version: 1;
  readonly key: JobKey;
  readonly checkpoints: CheckpointRecord[];
  readonly intervals: IntervalRecord[];
}

const INDEX_FILE = "index.json";

export interface WriteOptions {
  /** fsync the file and its directory now; otherwise flush() does. @default true */
  readonly durable?: boolean;
}

export class CheckpointStore {
  /** Files written with `durable: false` and not yet fsynced. */
  private readonly unsynced = new Set<string>();

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<CheckpointStore> {
    await fs.mkdir(path.join(dir, "objects"), { recursive: true });
    return new CheckpointStore(dir);
  }

  /**
   * Stores bytes under their content address (idempotent); returns the relative path. `address` is
   * that address when the caller already has it (hashStateOffThread computes it in the hashing worker).
   */
  async putState(bytes: Uint8Array, options: WriteOptions & { readonly address?: string | null } = {}): Promise<string> {
    const address = options.address ?? contentAddress(bytes);
    const rel = path.posix.join("objects", `${address}.safetensors`);
    const abs = path.join(this.dir, rel);
    try {
      const st = await fs.stat(abs);
      if (st.size === bytes.length) return rel;
    } catch {
      // not there yet
    }
    await this.write(abs, bytes, options);
    return rel;
  }

  /** fsyncs every file written with `durable: false` since the last flush, then the directories. */
  async flush(): Promise<void> {
    const files = [...this.unsynced];
    this.unsynced.clear();
    for (const f of files) await syncPath(f);
    if (files.length > 0) {
      await syncPath(path.join(this.dir, "objects"));
      await syncPath(this.dir);
    }
  }

  private async write(abs: string, bytes: Uint8Array, options: WriteOptions): Promise<void> {
    const durable = options.durable ?? true;
    try {
      await atomicWrite(abs, bytes, durable);
    } catch (cause) {
      throw new CheckpointStoreError("could not write a checkpoint file", {
        cause,
        details: { file: path.relative(this.dir, abs).split(path.sep).join("/") },
      });
    }
    if (!durable) this.unsynced.add(abs);
  }

  async readBytes(rel: string): Promise<Uint8Array> {
    if (!/^objects\/[0-9a-f]{64}\.safetensors$/.test(rel)) {
      throw new CheckpointStoreError("index names a file outside objects/", { details: { file: rel } });
    }
    try {
      return await fs.readFile(path.join(this.dir, rel));
    } catch (cause) {
      throw new CheckpointStoreError("state file unreadable", { cause, details: { file: rel } });
    }
  }

  /** Reads a state file and checks it against the state hash the index recorded. */
  async loadState(rel: string, expectedHash: Hash): Promise<TensorMap> {
    const bytes = await this.readBytes(rel);
    if (bytes.length === 0) throw new CheckpointStoreError("state file is empty", { details: { file: rel, expectedHash } });
    const h = hashStateBytes(bytes);
    if (h !== expectedHash)
      throw new CheckpointStoreError("state file does not match its state hash", { details: { file: rel, expectedHash, got: h } });
    return readSafetensors(bytes);
  }

  async readIndex(): Promise<CheckpointIndex | null> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.dir, INDEX_FILE), "utf8");
    } catch {
      return null;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new CheckpointStoreError("index.json is not JSON", { cause, details: { dir: this.dir } });
    }
    return checkIndex(parsed, this.dir);
  }

  async writeIndex(index: CheckpointIndex): Promise<void> {
    await this.write(path.join(this.dir, INDEX_FILE), Buffer.from(JSON.stringify(index, null, 1)), {});
  }
}

/** Loads a run's index from a directory, or throws if there is none. */
export async function readCheckpointIndex(dir: string): Promise<{ store: CheckpointStore; index: CheckpointIndex }> {
  const store = await CheckpointStore.open(dir);
  const index = await store.readIndex();
  if (!index) throw new CheckpointStoreError("no index.json in checkpoint directory", { details: { dir } });
  return { store, index };
}

function checkIndex(v: unknown, dir: string): CheckpointIndex {
  const o = v as Partial<CheckpointIndex> | null;
  const ok =
    o !== null &&
    typeof o === "object" &&
    o.version === 1 &&
    typeof o.key === "object" &&
    o.key !== null &&
    Array.isArray(o.checkpoints) &&
    Array.isArray(o.intervals) &&
    o.checkpoints.length >= 1 &&
    o.intervals.length === o.checkpoints.length - 1 &&
    o.checkpoints.every((c, i) => c.i === i && typeof c.stateHash === "string" && typeof c.file === "string") &&
    o.intervals.every((r, i) => r.i === i && typeof r.stepRoot === "string" && Array.isArray(r.stateHashes));
  if (!ok) throw new CheckpointStoreError("index.json is malformed", { details: { dir } });
  return o as CheckpointIndex;
}

let tmpCounter = 0;

async function atomicWrite(file: string, bytes: Uint8Array, durable: boolean): Promise<void> {
  // pid + counter: two writes in one millisecond (background writer) must not share a temp file.
  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  const fh = await fs.open(tmp, "w");
  try {
    await fh.writeFile(bytes);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  // fsync the directory so the rename itself survives a power loss.
  if (durable) await syncPath(path.dirname(file));
}

async function syncPath(p: string): Promise<void> {
  const fh = await fs.open(p, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
