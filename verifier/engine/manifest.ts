/**
 * The job manifest (PROTOCOL.md §2): its type, strict validation (each problem names the field),
 * RFC 8785 canonical bytes and the spec hash `sha256(bytes)` that goes on chain.
 * Integers that may exceed 2^53 (T, k, FLOPs, byte sizes) are decimal strings.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { UPowError } from "../errors";
import { dataTree, type Hash } from "../protocol/hashing";
import { canonicalJson } from "../protocol/canonicalJson";

export const MANIFEST_VERSION = "upow.manifest/1";
const UINT64_MAX = (1n << 64n) - 1n;
const MAX_URI = 2048;
const MAX_BATCHES = 1 << 24;
const HEX32 = /^0x[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** A uint64 written as a canonical decimal string ("0" or no leading zeros). */
export type DecimalString = string;

export interface ToleranceBounds {
  /** Single step: bound relative to the update norm (§10.3). */
  readonly deltaUpd: number;
  /** Single step: bound relative to the tensor norm (§10.3). */
  readonly deltaUlp: number;
  /** Audits over k steps: looser bounds of the same form. */
  readonly deltaKUpd: number;
  readonly deltaKUlp: number;
}

export interface Tolerance extends ToleranceBounds {
  /** Per-tensor overrides by state tensor name (e.g. looser for Adam's second moment). */
  readonly perTensor?: Readonly<Record<string, ToleranceBounds>>;
}

export interface JobManifest {
  readonly version: typeof MANIFEST_VERSION;
  /** The ONNX step graph, addressed by plain sha256 of its bytes. */
  readonly graph: { readonly sha256: Hash; readonly uri: string };
  /** State S_0: its file hash (docs/encoding.md), where to get it and its size in bytes. */
  readonly initialState: { readonly hash: Hash; readonly uri: string; readonly bytes: DecimalString };
  readonly data: {
    /** Root of the data tree over batch hashes. */
    readonly root: Hash;
    /** Where the batch files are (a dataset directory / store prefix). */
    readonly uri: string;
    readonly numBatches: number;
    readonly batchSize: number;
    /** Batch file hashes in batch index order; or `batchListUri`, or both. */
    readonly batchHashes?: readonly Hash[];
    readonly batchListUri?: string;
  };
  /** bytes32: fixes the batch order (docs/encoding.md). */
  readonly seed: Hash;
  /** Values of the graph's `hp.<name>` inputs. */
  readonly hyperparameters: Readonly<Record<string, number>>;
  /** T. */
  readonly totalSteps: DecimalString;
  /** k, with T % k == 0. */
  readonly checkpointInterval: DecimalString;
  readonly tolerance: Tolerance;
  readonly flopsPerStep: DecimalString;
  readonly stateBytes: DecimalString;
  /**
   * The cost model flopsPerStep and stateBytes were derived under (costModel.ts, v3 V8.2). Optional so
   * that manifests written before it stay readable: those are judged under `upow.cost/1`, the rules
   * every earlier manifest was prepared with.
   */
  readonly costModel?: { readonly version: string; readonly hash: Hash };
  /** Advice to workers (execution provider, threads, ...); never affects what is correct. */
  readonly executionHints?: Readonly<Record<string, string | number | boolean>>;
  readonly description?: string;
}

/** The manifest is not JSON. */
export class ManifestJsonError extends UPowError {
  override readonly name = "ManifestJsonError";
}

/** A field is missing, unexpected, of the wrong type or out of range; `field` is its path. */
export class ManifestFieldError extends UPowError {
  override readonly name = "ManifestFieldError";
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`manifest field ${field} ${problem}`, { details: { field } });
    this.field = field;
  }
}

/** Manifest bytes are valid but not their own RFC 8785 canonical form. */
export class ManifestNonCanonicalError extends UPowError {
  override readonly name = "ManifestNonCanonicalError";
  constructor() {
    super("manifest bytes are not RFC 8785 canonical JSON");
  }
}

/** sha256 of the manifest bytes differs from the spec hash it was fetched for. */
export class ManifestHashMismatchError extends UPowError {
  override readonly name = "ManifestHashMismatchError";
  constructor(expected: Hash, actual: Hash) {
    super("manifest bytes do not hash to the expected spec hash", { details: { expected, actual } });
  }
}

// RFC 8785 canonical JSON: one implementation for every hashed document (re-exported for callers of this module).
export { canonicalJson };

// ---- validation ----------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string, allowed: readonly string[], required: readonly string[]): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ManifestFieldError(field, "must be an object");
  const o = v as Obj;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ManifestFieldError(`${field}.${k}`, "is not a known field");
  }
  for (const k of required) {
    if (o[k] === undefined) throw new ManifestFieldError(`${field}.${k}`, "is missing");
  }
  return o;
}

function hash32(v: unknown, field: string): Hash {
  if (typeof v !== "string" || !HEX32.test(v)) throw new ManifestFieldError(field, "must be 0x + 64 lowercase hex digits");
  return v;
}

function uri(v: unknown, field: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_URI) {
    throw new ManifestFieldError(field, `must be a non-empty string of at most ${MAX_URI} characters`);
  }
  return v;
}

function uint64(v: unknown, field: string, min = 0n): DecimalString {
  if (typeof v !== "string" || !DECIMAL.test(v)) throw new ManifestFieldError(field, "must be a decimal string without leading zeros");
  const n = BigInt(v);
  if (n > UINT64_MAX) throw new ManifestFieldError(field, "exceeds 2^64 - 1");
  if (n < min) throw new ManifestFieldError(field, `must be at least ${min}`);
  return v;
}

function count(v: unknown, field: string, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new ManifestFieldError(field, `must be an integer in [1, ${max}]`);
  }
  return v;
}

function bound(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new ManifestFieldError(field, "must be a finite number ≥ 0");
  return v;
}

const BOUND_KEYS = ["deltaUpd", "deltaUlp", "deltaKUpd", "deltaKUlp"] as const;

function bounds(v: unknown, field: string, extra: readonly string[] = []): ToleranceBounds {
  const o = obj(v, field, [...BOUND_KEYS, ...extra], BOUND_KEYS);
  const b = {
    deltaUpd: bound(o.deltaUpd, `${field}.deltaUpd`),
    deltaUlp: bound(o.deltaUlp, `${field}.deltaUlp`),
    deltaKUpd: bound(o.deltaKUpd, `${field}.deltaKUpd`),
    deltaKUlp: bound(o.deltaKUlp, `${field}.deltaKUlp`),
  };
  if (b.deltaUpd === 0 && b.deltaUlp === 0) throw new ManifestFieldError(`${field}.deltaUpd`, "and deltaUlp cannot both be 0");
  // Audits cover k steps of drift, so their bounds are never tighter than a single step's.
  if (b.deltaKUpd < b.deltaUpd) throw new ManifestFieldError(`${field}.deltaKUpd`, "must be ≥ deltaUpd");
  if (b.deltaKUlp < b.deltaUlp) throw new ManifestFieldError(`${field}.deltaKUlp`, "must be ≥ deltaUlp");
  return b;
}

function nameRecord<T>(v: unknown, field: string, each: (x: unknown, f: string) => T): Record<string, T> {
  const o = obj(v, field, Object.keys((v ?? {}) as Obj), []);
  const entries: [string, T][] = [];
  for (const k of Object.keys(o)) {
    if (!NAME.test(k)) throw new ManifestFieldError(`${field}.${k}`, "is not a valid name");
    entries.push([k, each(o[k], `${field}.${k}`)]);
  }
  // fromEntries defines own properties, so a "__proto__" key cannot reach the prototype.
  return Object.fromEntries(entries);
}

/** Refuses a tolerance (or a per-tensor override) below the governance floors, naming the field. */
export function checkToleranceFloors(tolerance: Tolerance, floors: ToleranceBounds): void {
  const pairs = [
    ["tolerance", tolerance],
    ...Object.entries(tolerance.perTensor ?? {}).map(([n, b]) => [`tolerance.perTensor.${n}`, b] as const),
  ] as const;
  for (const [f, b] of pairs) {
    for (const key of BOUND_KEYS) {
      if (b[key] < floors[key]) throw new ManifestFieldError(`${f}.${key}`, `is below the governance floor ${floors[key]}`);
    }
  }
}

export interface ValidateManifestOptions {
  /** Governance floors (from the chain); a manifest below them is refused. */
  readonly floors?: ToleranceBounds;
}

const TOP_KEYS = [
  "version",
  "graph",
  "initialState",
  "data",
  "seed",
  "hyperparameters",
  "totalSteps",
  "checkpointInterval",
  "tolerance",
  "flopsPerStep",
  "stateBytes",
  "costModel",
  "executionHints",
  "description",
];
const TOP_REQUIRED = TOP_KEYS.filter((k) => k !== "executionHints" && k !== "description" && k !== "costModel");
const COST_MODEL_VERSION_RE = /^upow\.cost\/[1-9][0-9]{0,8}$/;

/**
 * Checks a parsed value field by field and returns it typed. Refuses unknown fields, wrong types,
 * out-of-range numbers, `T % k != 0`, batch lists that disagree with `numBatches` or `data.root`,
 * and tolerances below `floors`.
 * @throws ManifestFieldError naming the field.
 */
export function validateManifest(value: unknown, options: ValidateManifestOptions = {}): JobManifest {
  const m = obj(value, "manifest", TOP_KEYS, TOP_REQUIRED);
  if (m.version !== MANIFEST_VERSION) throw new ManifestFieldError("version", `must be "${MANIFEST_VERSION}"`);

  const g = obj(m.graph, "graph", ["sha256", "uri"], ["sha256", "uri"]);
  hash32(g.sha256, "graph.sha256");
  uri(g.uri, "graph.uri");

  const s = obj(m.initialState, "initialState", ["hash", "uri", "bytes"], ["hash", "uri", "bytes"]);
  hash32(s.hash, "initialState.hash");
  uri(s.uri, "initialState.uri");
  uint64(s.bytes, "initialState.bytes", 1n);

  const d = obj(
    m.data,
    "data",
    ["root", "uri", "numBatches", "batchSize", "batchHashes", "batchListUri"],
    ["root", "uri", "numBatches", "batchSize"],
  );
  const root = hash32(d.root, "data.root");
  uri(d.uri, "data.uri");
  const numBatches = count(d.numBatches, "data.numBatches", MAX_BATCHES);
  count(d.batchSize, "data.batchSize", 2 ** 32 - 1);
  if (d.batchHashes === undefined && d.batchListUri === undefined) {
    throw new ManifestFieldError("data.batchHashes", "or data.batchListUri must be given");
  }
  if (d.batchListUri !== undefined) uri(d.batchListUri, "data.batchListUri");
  if (d.batchHashes !== undefined) {
    if (!Array.isArray(d.batchHashes)) throw new ManifestFieldError("data.batchHashes", "must be an array");
    if (d.batchHashes.length !== numBatches) throw new ManifestFieldError("data.batchHashes", "must hold numBatches hashes");
    const hashes = d.batchHashes.map((h, i) => hash32(h, `data.batchHashes[${i}]`));
    if (dataTree(hashes).root !== root) throw new ManifestFieldError("data.root", "is not the data tree root of data.batchHashes");
  }

  hash32(m.seed, "seed");
  nameRecord(m.hyperparameters, "hyperparameters", (x, f) => {
    if (typeof x !== "number" || !Number.isFinite(x)) throw new ManifestFieldError(f, "must be a finite number");
    return x;
  });

  const T = BigInt(uint64(m.totalSteps, "totalSteps", 1n));
  const k = BigInt(uint64(m.checkpointInterval, "checkpointInterval", 1n));
  if (k > T) throw new ManifestFieldError("checkpointInterval", "must not exceed totalSteps");
  if (T % k !== 0n) throw new ManifestFieldError("checkpointInterval", "must divide totalSteps (T % k == 0)");

  const t = obj(m.tolerance, "tolerance", [...BOUND_KEYS, "perTensor"], BOUND_KEYS);
  const tol = bounds(t, "tolerance", ["perTensor"]);
  const perTensor = t.perTensor === undefined ? {} : nameRecord(t.perTensor, "tolerance.perTensor", (x, f) => bounds(x, f));
  if (options.floors) checkToleranceFloors({ ...tol, perTensor }, options.floors);

  uint64(m.flopsPerStep, "flopsPerStep", 1n);
  uint64(m.stateBytes, "stateBytes", 1n);
  if (m.costModel !== undefined) {
    const c = obj(m.costModel, "costModel", ["version", "hash"], ["version", "hash"]);
    if (typeof c.version !== "string" || !COST_MODEL_VERSION_RE.test(c.version))
      throw new ManifestFieldError("costModel.version", 'must be "upow.cost/<n>"');
    hash32(c.hash, "costModel.hash");
  }
  if (m.executionHints !== undefined) {
    nameRecord(m.executionHints, "executionHints", (x, f) => {
      if (typeof x === "string" || typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x))) return x;
      throw new ManifestFieldError(f, "must be a string, a finite number or a boolean");
    });
  }
  if (m.description !== undefined && (typeof m.description !== "string" || m.description.length > 4096)) {
    throw new ManifestFieldError("description", "must be a string of at most 4096 characters");
  }
  return value as JobManifest;
}

// ---- bytes and hash ------------------------------------------------------------------------------

/** RFC 8785 canonical bytes of a (validated) manifest. */
export function canonicalManifestBytes(manifest: JobManifest): Buffer {
  return Buffer.from(canonicalJson(validateManifest(manifest)), "utf8");
}

/** sha256 of the canonical manifest bytes, as bytes32 hex: the job's `specHash` on chain. */
export function specHash(manifest: JobManifest): Hash {
  return `0x${createHash("sha256").update(canonicalManifestBytes(manifest)).digest("hex")}`;
}

export interface ParseManifestOptions extends ValidateManifestOptions {
  /** The on-chain spec hash the bytes were fetched for. */
  readonly expectedSpecHash?: Hash;
  /** Refuse bytes that are not their own canonical form. @default true */
  readonly requireCanonical?: boolean;
}

/**
 * Parses manifest bytes from a store: hash first (cheap and decisive), then JSON, fields and canonical form.
 * @throws ManifestHashMismatchError, ManifestJsonError, ManifestFieldError, ManifestNonCanonicalError
 */
export function parseManifest(bytes: Uint8Array | string, options: ParseManifestOptions = {}): JobManifest {
  const buf = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (options.expectedSpecHash !== undefined) {
    const actual = `0x${createHash("sha256").update(buf).digest("hex")}`;
    if (actual !== options.expectedSpecHash.toLowerCase()) throw new ManifestHashMismatchError(options.expectedSpecHash, actual);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf));
  } catch (e) {
    throw new ManifestJsonError(`manifest is not UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const manifest = validateManifest(value, options);
  if ((options.requireCanonical ?? true) && !Buffer.from(canonicalJson(value), "utf8").equals(buf)) {
    throw new ManifestNonCanonicalError();
  }
  return manifest;
}

/** The manifest's integers as bigints, plus the checkpoint count `T/k + 1`. */
export function manifestIntegers(m: JobManifest): {
  totalSteps: bigint;
  checkpointInterval: bigint;
  checkpointCount: bigint;
  flopsPerStep: bigint;
  stateBytes: bigint;
  initialStateBytes: bigint;
} {
  const totalSteps = BigInt(m.totalSteps);
  const checkpointInterval = BigInt(m.checkpointInterval);
  return {
    totalSteps,
    checkpointInterval,
    checkpointCount: totalSteps / checkpointInterval + 1n,
    flopsPerStep: BigInt(m.flopsPerStep),
    stateBytes: BigInt(m.stateBytes),
    initialStateBytes: BigInt(m.initialState.bytes),
  };
}
