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

/** What is wrong with a safetensors file (or with tensors given to the writer). */
export type SafetensorsFault =
  /** The file is shorter than its 8-byte length prefix plus the header length it declares. */
  | "headerOutOfBounds"
  /** The declared header length exceeds `maxHeaderBytes`. */
  | "headerTooLarge"
  /** The header is not UTF-8 JSON holding an object. */
  | "headerJson"
  /** A header entry lacks `dtype`/`shape`/`data_offsets`, has extra keys, or holds values of the wrong type. */
  | "entry"
  /** An entry names a dtype the engine does not know. */
  | "unknownDType"
  /** shape × dtype size differs from the entry's byte range. */
  | "sizeMismatch"
  /** Two tensors' byte ranges overlap. */
  | "overlap"
  /** A gap between byte ranges (or before the first), or a range beyond the data. */
  | "gap"
  /** A byte range ends beyond the end of the file. */
  | "outOfBounds"
  /** Bytes after the last tensor's data. */
  | "trailingBytes"
  /** Data is not laid out in tensor-name order (canonical files only). */
  | "offsetOrder"
  /** The header is valid but not byte-identical to the canonical header of the same tensors. */
  | "nonCanonical"
  /** A BOOL tensor holds a byte other than 0 or 1. */
  | "invalidBool"
  /** The writer was given a tensor whose data does not fit its dtype or shape. */
  | "tensor";

/**
 * Every safetensors problem: one class, the problem named by `fault` (callers that care branch on it;
 * the daemons do not: a malformed state or batch is refused whatever its fault).
 */
export class SafetensorsError extends UPowError {
  override readonly name = "SafetensorsError";
  constructor(
    readonly fault: SafetensorsFault,
    shortMessage: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(shortMessage, options);
  }
}

function headerOutOfBoundsError(headerLength: bigint, fileLength: number): SafetensorsError {
  return new SafetensorsError("headerOutOfBounds", "safetensors header length runs beyond the end of the file", {
    details: { headerLength, fileLength },
  });
}

function headerTooLargeError(headerLength: bigint, maxHeaderBytes: number): SafetensorsError {
  return new SafetensorsError("headerTooLarge", "safetensors header is larger than the allowed limit", {
    details: { headerLength, maxHeaderBytes },
  });
}

function headerJsonError(reason: string, cause?: unknown): SafetensorsError {
  return new SafetensorsError("headerJson", `safetensors header is not a JSON object: ${reason}`, { cause });
}

function entryError(tensor: string, reason: string): SafetensorsError {
  return new SafetensorsError("entry", `safetensors entry "${tensor}" is malformed: ${reason}`, { details: { tensor } });
}

function unknownDTypeError(tensor: string, dtype: unknown): SafetensorsError {
  return new SafetensorsError("unknownDType", `safetensors entry "${tensor}" has an unknown dtype`, {
    details: { tensor, dtype: String(dtype) },
  });
}

function sizeMismatchError(tensor: string, expectedBytes: number, rangeBytes: number): SafetensorsError {
  return new SafetensorsError("sizeMismatch", `safetensors entry "${tensor}" has a byte range that does not match shape × dtype`, {
    details: { tensor, expectedBytes, rangeBytes },
  });
}

function overlapError(tensor: string, other: string): SafetensorsError {
  return new SafetensorsError("overlap", `safetensors entries "${other}" and "${tensor}" overlap`, { details: { tensor, other } });
}

function gapError(tensor: string, expectedBegin: number, begin: number): SafetensorsError {
  return new SafetensorsError("gap", `safetensors entry "${tensor}" does not start where the previous data ends`, {
    details: { tensor, expectedBegin, begin },
  });
}

function outOfBoundsError(tensor: string, end: number, dataLength: number): SafetensorsError {
  return new SafetensorsError("outOfBounds", `safetensors entry "${tensor}" ends beyond the end of the file`, {
    details: { tensor, end, dataLength },
  });
}

function trailingBytesError(dataEnd: number, dataLength: number): SafetensorsError {
  return new SafetensorsError("trailingBytes", "safetensors file has bytes after the last tensor", { details: { dataEnd, dataLength } });
}

function offsetOrderError(tensor: string, previous: string): SafetensorsError {
  return new SafetensorsError("offsetOrder", `safetensors data of "${tensor}" comes before "${previous}" but sorts after it`, {
    details: { tensor, previous },
  });
}

function nonCanonicalError(reason: string): SafetensorsError {
  return new SafetensorsError("nonCanonical", `safetensors header is not canonical: ${reason}`);
}

function invalidBoolError(tensor: string, index: number, value: number): SafetensorsError {
  return new SafetensorsError("invalidBool", `safetensors BOOL tensor "${tensor}" holds a value other than 0/1`, {
    details: { tensor, index, value },
  });
}

function tensorError(tensor: string, reason: string): SafetensorsError {
  return new SafetensorsError("tensor", `tensor "${tensor}" cannot be written: ${reason}`, { details: { tensor } });
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
  if (name === "") throw entryError(name, "empty tensor name");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw entryError(name, "not an object");
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!ENTRY_KEYS.includes(key)) throw entryError(name, `unexpected key "${key}"`);
  }
  if (!("dtype" in obj)) throw entryError(name, "missing dtype");
  if (!isDType(obj.dtype)) throw unknownDTypeError(name, obj.dtype);
  const shape = obj.shape;
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw entryError(name, "shape is not an array of non-negative integers");
  }
  const offsets = obj.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw entryError(name, "data_offsets is not a pair of non-negative integers");
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw entryError(name, "data_offsets end before they begin");
  const expected = byteSize(name, obj.dtype, shape as number[], (r) => entryError(name, r));
  if (expected !== end - begin) throw sizeMismatchError(name, expected, end - begin);
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
  if (buf.length < 8) throw headerOutOfBoundsError(8n, buf.length);
  const headerLength = buf.readBigUInt64LE(0);
  if (headerLength > BigInt(maxHeaderBytes)) throw headerTooLargeError(headerLength, maxHeaderBytes);
  if (8n + headerLength > BigInt(buf.length)) throw headerOutOfBoundsError(headerLength, buf.length);
  const n = Number(headerLength);
  const headerBytes = buf.subarray(8, 8 + n);

  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw headerJsonError(e instanceof Error ? e.message : "unparsable", e);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw headerJsonError("top level is not an object");
  }
  const record = parsed as Record<string, unknown>;

  const hasMetadata = Object.prototype.hasOwnProperty.call(record, METADATA_KEY);
  if (hasMetadata) {
    const md = record[METADATA_KEY];
    if (typeof md !== "object" || md === null || Array.isArray(md) || !Object.values(md).every((v) => typeof v === "string")) {
      throw entryError(METADATA_KEY, "metadata is not an object of strings");
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
    if (begin < cursor) throw overlapError(e.name, previous!.name);
    if (begin > cursor) throw gapError(e.name, cursor, begin);
    if (end > dataLength) throw outOfBoundsError(e.name, end, dataLength);
    cursor = end;
    previous = e;
  }
  if (cursor !== dataLength) throw trailingBytesError(cursor, dataLength);

  if (requireCanonical) {
    if (hasMetadata) throw nonCanonicalError("__metadata__ present");
    for (let i = 1; i < entries.length; i++) {
      // The ranges tile the data already; in name order each must start where the previous ends.
      if (entries[i]!.dataOffsets[0] !== entries[i - 1]!.dataOffsets[1]) {
        throw offsetOrderError(entries[i]!.name, entries[i - 1]!.name);
      }
    }
    if (n % 8 !== 0) throw nonCanonicalError(`header length ${n} is not a multiple of 8`);
    if (!canonicalHeaderBytes(entries).equals(headerBytes)) {
      throw nonCanonicalError("key order, whitespace, number format or padding differs");
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
 * @throws SafetensorsError, its `fault` naming the problem.
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
      if (bad >= 0) throw invalidBoolError(e.name, bad, (data as Uint8Array)[bad]!);
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

export interface WriteSafetensorsOptions {
  /** Put the bytes in an ArrayBuffer of their own (never Buffer's shared pool), so they can be moved to a worker thread. @default false */
  readonly own?: boolean;
}

/**
 * Writes the canonical safetensors bytes of `tensors` (a Map or a plain record).
 * @throws SafetensorsError (fault "tensor") when a tensor's data does not match its dtype or shape.
 */
export function writeSafetensors(tensors: TensorMap | Readonly<Record<string, Tensor>>, options: WriteSafetensorsOptions = {}): Buffer {
  const list: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  list.sort((a, b) => byName(a[0], b[0]));
  const entries: SafetensorsEntry[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (name === "" || name === METADATA_KEY) throw tensorError(name, "reserved or empty name");
    if (!isDType(t.dtype)) throw tensorError(name, `unknown dtype ${String(t.dtype)}`);
    if (!t.shape.every(isCount)) throw tensorError(name, "shape is not non-negative integers");
    if (!(t.data instanceof EXPECTED_ARRAY[t.dtype])) {
      throw tensorError(name, `${t.dtype} data must be a ${EXPECTED_ARRAY[t.dtype].name}`);
    }
    const bytes = byteSize(name, t.dtype, t.shape, (r) => tensorError(name, r));
    if (t.data.byteLength !== bytes) {
      throw tensorError(name, `shape ${JSON.stringify(t.shape)} needs ${elementCount(t.shape)} elements`);
    }
    if (t.dtype === "BOOL" && (t.data as Uint8Array).some((v) => v > 1)) {
      throw tensorError(name, "BOOL values must be 0 or 1");
    }
    entries.push({ name, dtype: t.dtype, shape: t.shape, dataOffsets: [offset, offset + bytes] });
    offset += bytes;
  }
  const header = canonicalHeaderBytes(entries);
  const total = 8 + header.length + offset;
  // Every byte is written below (length, padded header, contiguous data): no zero fill needed.
  const out = options.own ? Buffer.allocUnsafeSlow(total) : Buffer.allocUnsafe(total);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  let pos = 8 + header.length;
  for (const [, t] of list) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
