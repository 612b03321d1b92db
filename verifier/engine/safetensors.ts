/**
 * Canonical safetensors (PROTOCOL.md §2): one byte layout per set of tensors, so equal tensors give
 * equal state hashes. The reader treats every file as hostile and names what is wrong with it.
 *
 * Layout: uint64 LE header length N ‖ N bytes of JSON header ‖ data. Canonical means: tensors sorted by
 * name (UTF-16 code-unit order, as RFC 8785 sorts keys), entry keys sorted, no whitespace, no
 * `__metadata__`, the header padded with spaces so N is a multiple of 8, data contiguous in name order.
 */
import { endianness } from "node:os";
import { UPowError } from "../errors";
import { DTYPE_BYTES, elementCount, type DType, type Tensor, type TensorData, type TensorMap } from "./tensor";

/** Base of every safetensors problem; `instanceof SafetensorsError` catches them all. */
export class SafetensorsError extends UPowError {
  override readonly name: string = "SafetensorsError";
}

/** The file is shorter than its 8-byte length prefix plus the header length it declares. */
export class SafetensorsHeaderOutOfBoundsError extends SafetensorsError {
  override readonly name = "SafetensorsHeaderOutOfBoundsError";
  constructor(headerLength: bigint, fileLength: number) {
    super("safetensors header length runs beyond the end of the file", { details: { headerLength, fileLength } });
  }
}

/** The declared header length exceeds `maxHeaderBytes`. */
export class SafetensorsHeaderTooLargeError extends SafetensorsError {
  override readonly name = "SafetensorsHeaderTooLargeError";
  constructor(headerLength: bigint, maxHeaderBytes: number) {
    super("safetensors header is larger than the allowed limit", { details: { headerLength, maxHeaderBytes } });
  }
}

/** The header is not UTF-8 JSON holding an object. */
export class SafetensorsHeaderJsonError extends SafetensorsError {
  override readonly name = "SafetensorsHeaderJsonError";
  constructor(reason: string, cause?: unknown) {
    super(`safetensors header is not a JSON object: ${reason}`, { cause });
  }
}

/** A header entry lacks `dtype`/`shape`/`data_offsets`, has extra keys, or holds values of the wrong type. */
export class SafetensorsEntryError extends SafetensorsError {
  override readonly name = "SafetensorsEntryError";
  constructor(tensor: string, reason: string) {
    super(`safetensors entry "${tensor}" is malformed: ${reason}`, { details: { tensor } });
  }
}

export class SafetensorsUnknownDTypeError extends SafetensorsError {
  override readonly name = "SafetensorsUnknownDTypeError";
  constructor(tensor: string, dtype: unknown) {
    super(`safetensors entry "${tensor}" has an unknown dtype`, { details: { tensor, dtype: String(dtype) } });
  }
}

/** shape × dtype size differs from the entry's byte range. */
export class SafetensorsSizeMismatchError extends SafetensorsError {
  override readonly name = "SafetensorsSizeMismatchError";
  constructor(tensor: string, expectedBytes: number, rangeBytes: number) {
    super(`safetensors entry "${tensor}" has a byte range that does not match shape × dtype`, {
      details: { tensor, expectedBytes, rangeBytes },
    });
  }
}

/** Two tensors' byte ranges overlap. */
export class SafetensorsOverlapError extends SafetensorsError {
  override readonly name = "SafetensorsOverlapError";
  constructor(tensor: string, other: string) {
    super(`safetensors entries "${other}" and "${tensor}" overlap`, { details: { tensor, other } });
  }
}

/** A gap between byte ranges (or before the first), or a range beyond the data. */
export class SafetensorsGapError extends SafetensorsError {
  override readonly name = "SafetensorsGapError";
  constructor(tensor: string, expectedBegin: number, begin: number) {
    super(`safetensors entry "${tensor}" does not start where the previous data ends`, {
      details: { tensor, expectedBegin, begin },
    });
  }
}

export class SafetensorsOutOfBoundsError extends SafetensorsError {
  override readonly name = "SafetensorsOutOfBoundsError";
  constructor(tensor: string, end: number, dataLength: number) {
    super(`safetensors entry "${tensor}" ends beyond the end of the file`, { details: { tensor, end, dataLength } });
  }
}

/** Bytes after the last tensor's data. */
export class SafetensorsTrailingBytesError extends SafetensorsError {
  override readonly name = "SafetensorsTrailingBytesError";
  constructor(dataEnd: number, dataLength: number) {
    super("safetensors file has bytes after the last tensor", { details: { dataEnd, dataLength } });
  }
}

/** Data is not laid out in tensor-name order (canonical files only). */
export class SafetensorsOffsetOrderError extends SafetensorsError {
  override readonly name = "SafetensorsOffsetOrderError";
  constructor(tensor: string, previous: string) {
    super(`safetensors data of "${tensor}" comes before "${previous}" but sorts after it`, {
      details: { tensor, previous },
    });
  }
}

/** The header is valid but not byte-identical to the canonical header of the same tensors. */
export class SafetensorsNonCanonicalError extends SafetensorsError {
  override readonly name = "SafetensorsNonCanonicalError";
  constructor(reason: string) {
    super(`safetensors header is not canonical: ${reason}`);
  }
}

/** A BOOL tensor holds a byte other than 0 or 1. */
export class SafetensorsInvalidBoolError extends SafetensorsError {
  override readonly name = "SafetensorsInvalidBoolError";
  constructor(tensor: string, index: number, value: number) {
    super(`safetensors BOOL tensor "${tensor}" holds a value other than 0/1`, { details: { tensor, index, value } });
  }
}

/** The writer was given a tensor whose data does not fit its dtype or shape. */
export class SafetensorsTensorError extends SafetensorsError {
  override readonly name = "SafetensorsTensorError";
  constructor(tensor: string, reason: string) {
    super(`tensor "${tensor}" cannot be written: ${reason}`, { details: { tensor } });
  }
}

const DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024;
const METADATA_KEY = "__metadata__";
const ENTRY_KEYS = ["data_offsets", "dtype", "shape"];

if (endianness() !== "LE") {
  // Typed arrays use host byte order; the format is little-endian.
  throw new UPowError("safetensors codec needs a little-endian host");
}

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** [begin, end) relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsHeader {
  /** 8 + N: where the data section starts in the file. */
  readonly dataStart: number;
  /** Entries in tensor-name order. */
  readonly entries: readonly SafetensorsEntry[];
}

export interface ReadSafetensorsOptions {
  /** Largest header length accepted. @default 16 MiB */
  readonly maxHeaderBytes?: number;
  /** Demand the canonical layout (required wherever a file is hashed). @default true */
  readonly requireCanonical?: boolean;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDType(v: unknown): v is DType {
  return typeof v === "string" && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function byteSize(name: string, dtype: DType, shape: readonly number[], onError: (reason: string) => Error): number {
  let elements = 1;
  for (const d of shape) {
    elements *= d;
    if (!Number.isSafeInteger(elements)) throw onError("shape has more elements than can be addressed");
  }
  const bytes = elements * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(bytes)) throw onError(`tensor "${name}" is too large`);
  return bytes;
}

/** The canonical header bytes (padding included) for entries already in name order. */
function canonicalHeaderBytes(entries: readonly SafetensorsEntry[]): Buffer {
  const parts = entries.map(
    (e) =>
      `${JSON.stringify(e.name)}:{"data_offsets":[${e.dataOffsets[0]},${e.dataOffsets[1]}],` +
      `"dtype":"${e.dtype}","shape":[${e.shape.join(",")}]}`,
  );
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  return Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
}

function parseEntry(name: string, raw: unknown): SafetensorsEntry {
  if (name === "") throw new SafetensorsEntryError(name, "empty tensor name");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new SafetensorsEntryError(name, "not an object");
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!ENTRY_KEYS.includes(key)) throw new SafetensorsEntryError(name, `unexpected key "${key}"`);
  }
  if (!("dtype" in obj)) throw new SafetensorsEntryError(name, "missing dtype");
  if (!isDType(obj.dtype)) throw new SafetensorsUnknownDTypeError(name, obj.dtype);
  const shape = obj.shape;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SafetensorsEntryError(name, "shape is not an array of non-negative integers");
  }
  const offsets = obj.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw new SafetensorsEntryError(name, "data_offsets is not a pair of non-negative integers");
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsEntryError(name, "data_offsets end before they begin");
  const expected = byteSize(name, obj.dtype, shape as number[], (r) => new SafetensorsEntryError(name, r));
  if (expected !== end - begin) throw new SafetensorsSizeMismatchError(name, expected, end - begin);
  return { name, dtype: obj.dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/**
 * Parses and validates the header of a safetensors file (no tensor data is copied).
 * Every problem throws a SafetensorsError subclass naming it.
 */
export function readSafetensorsHeader(file: Uint8Array, options: ReadSafetensorsOptions = {}): SafetensorsHeader {
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const requireCanonical = options.requireCanonical ?? true;
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 8) throw new SafetensorsHeaderOutOfBoundsError(8n, buf.length);
  const headerLength = buf.readBigUInt64LE(0);
  if (headerLength > BigInt(maxHeaderBytes)) throw new SafetensorsHeaderTooLargeError(headerLength, maxHeaderBytes);
  if (8n + headerLength > BigInt(buf.length)) throw new SafetensorsHeaderOutOfBoundsError(headerLength, buf.length);
  const n = Number(headerLength);
  const headerBytes = buf.subarray(8, 8 + n);

  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new SafetensorsHeaderJsonError(e instanceof Error ? e.message : "unparsable", e);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SafetensorsHeaderJsonError("top level is not an object");
  }
  const record = parsed as Record<string, unknown>;

  const hasMetadata = Object.prototype.hasOwnProperty.call(record, METADATA_KEY);
  if (hasMetadata) {
    const md = record[METADATA_KEY];
    if (typeof md !== "object" || md === null || Array.isArray(md) || !Object.values(md).every((v) => typeof v === "string")) {
      throw new SafetensorsEntryError(METADATA_KEY, "metadata is not an object of strings");
    }
  }
  const entries = Object.keys(record)
    .filter((k) => k !== METADATA_KEY)
    .sort(byName)
    .map((name) => parseEntry(name, record[name]));

  // Byte ranges must tile the data section exactly: [0, e1), [e1, e2), ... up to its end.
  const dataLength = buf.length - 8 - n;
  const byOffset = [...entries].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of byOffset) {
    const [begin, end] = e.dataOffsets;
    if (begin < cursor) throw new SafetensorsOverlapError(e.name, previous!.name);
    if (begin > cursor) throw new SafetensorsGapError(e.name, cursor, begin);
    if (end > dataLength) throw new SafetensorsOutOfBoundsError(e.name, end, dataLength);
    cursor = end;
    previous = e;
  }
  if (cursor !== dataLength) throw new SafetensorsTrailingBytesError(cursor, dataLength);

  if (requireCanonical) {
    if (hasMetadata) throw new SafetensorsNonCanonicalError("__metadata__ present");
    for (let i = 1; i < entries.length; i++) {
      // The ranges tile the data already; in name order each must start where the previous ends.
      if (entries[i]!.dataOffsets[0] !== entries[i - 1]!.dataOffsets[1]) {
        throw new SafetensorsOffsetOrderError(entries[i]!.name, entries[i - 1]!.name);
      }
    }
    if (n % 8 !== 0) throw new SafetensorsNonCanonicalError(`header length ${n} is not a multiple of 8`);
    if (!canonicalHeaderBytes(entries).equals(headerBytes)) {
      throw new SafetensorsNonCanonicalError("key order, whitespace, number format or padding differs");
    }
  }
  return { dataStart: 8 + n, entries };
}

/** A typed array of `dtype` over `bytes` (no copy). */
export function typedArray(dtype: DType, bytes: ArrayBuffer): TensorData {
  switch (dtype) {
    case "F64":
      return new Float64Array(bytes);
    case "F32":
      return new Float32Array(bytes);
    case "F16":
    case "BF16":
      return new Uint16Array(bytes);
    case "I64":
      return new BigInt64Array(bytes);
    case "I32":
      return new Int32Array(bytes);
    case "I16":
      return new Int16Array(bytes);
    case "I8":
      return new Int8Array(bytes);
    case "U8":
    case "BOOL":
      return new Uint8Array(bytes);
  }
}

/**
 * Reads a safetensors file into tensors (copied, aligned, not aliasing `file`), in name order.
 * @throws SafetensorsError subclasses, one per problem.
 */
export function readSafetensors(file: Uint8Array, options: ReadSafetensorsOptions = {}): TensorMap {
  const header = readSafetensorsHeader(file, options);
  const out: TensorMap = new Map();
  for (const e of header.entries) {
    const begin = header.dataStart + e.dataOffsets[0];
    const copy = new ArrayBuffer(e.dataOffsets[1] - e.dataOffsets[0]);
    new Uint8Array(copy).set(file.subarray(begin, header.dataStart + e.dataOffsets[1]));
    const data = typedArray(e.dtype, copy);
    if (e.dtype === "BOOL") {
      const bad = (data as Uint8Array).findIndex((v) => v > 1);
      if (bad >= 0) throw new SafetensorsInvalidBoolError(e.name, bad, (data as Uint8Array)[bad]!);
    }
    out.set(e.name, { dtype: e.dtype, shape: [...e.shape], data });
  }
  return out;
}

type TypedArrayClass = abstract new (...args: never[]) => TensorData;
const EXPECTED_ARRAY: Readonly<Record<DType, TypedArrayClass>> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/**
 * Writes the canonical safetensors bytes of `tensors` (a Map or a plain record).
 * @throws SafetensorsTensorError when a tensor's data does not match its dtype or shape.
 */
export interface WriteSafetensorsOptions {
  /** Put the bytes in an ArrayBuffer of their own (never Buffer's shared pool), so they can be moved to a worker thread. @default false */
  readonly own?: boolean;
}

export function writeSafetensors(tensors: TensorMap | Readonly<Record<string, Tensor>>, options: WriteSafetensorsOptions = {}): Buffer {
  const list: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  list.sort((a, b) => byName(a[0], b[0]));
  const entries: SafetensorsEntry[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "" || name === METADATA_KEY) throw new SafetensorsTensorError(name, "reserved or empty name");
    if (!isDType(t.dtype)) throw new SafetensorsTensorError(name, `unknown dtype ${String(t.dtype)}`);
    if (!t.shape.every(isCount)) throw new SafetensorsTensorError(name, "shape is not non-negative integers");
    if (!(t.data instanceof EXPECTED_ARRAY[t.dtype])) {
      throw new SafetensorsTensorError(name, `${t.dtype} data must be a ${EXPECTED_ARRAY[t.dtype].name}`);
    }
    const bytes = byteSize(name, t.dtype, t.shape, (r) => new SafetensorsTensorError(name, r));
    if (t.data.byteLength !== bytes) {
      throw new SafetensorsTensorError(name, `shape ${JSON.stringify(t.shape)} needs ${elementCount(t.shape)} elements`);
    }
    if (t.dtype === "BOOL" && (t.data as Uint8Array).some((v) => v > 1)) {
      throw new SafetensorsTensorError(name, "BOOL values must be 0 or 1");
    }
    entries.push({ name, dtype: t.dtype, shape: t.shape, dataOffsets: [offset, offset + bytes] });
    offset += bytes;
  }
  const header = canonicalHeaderBytes(entries);
  const total = 8 + header.length + offset;
  const out = options.own ? Buffer.from(new ArrayBuffer(total)) : Buffer.allocUnsafe(total);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  let pos = 8 + header.length;
  for (const [, t] of list) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
