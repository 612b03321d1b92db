import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import type { SortitionSumTreeHarness } from "../../typechain-types";

/** Deterministic distinct non-zero keys. */
function key(i: number): string {
  return ethers.getAddress(ethers.zeroPadValue(ethers.toBeHex(i + 1), 20));
}

/** How many of the values 0..total-1 each key draws: must equal its weight. */
async function drawHistogram(tree: SortitionSumTreeHarness): Promise<Map<string, bigint>> {
  const total = Number(await tree.total());
  const drawn = await Promise.all(Array.from({ length: total }, (_, v) => tree.draw(v)));
  const counts = new Map<string, bigint>();
  for (const k of drawn) counts.set(k, (counts.get(k) ?? 0n) + 1n);
  return counts;
}

async function drawGas(tree: SortitionSumTreeHarness, value: bigint): Promise<bigint> {
  const receipt = await (await tree.drawTx(value)).wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt.gasUsed;
}

async function fill(tree: SortitionSumTreeHarness, n: number): Promise<void> {
  const chunk = 64;
  for (let start = 0; start < n; start += chunk) {
    const keys: string[] = [];
    const weights: bigint[] = [];
    for (let i = start; i < Math.min(n, start + chunk); ++i) {
      keys.push(key(i));
      weights.push(BigInt(1000 + i));
    }
    await tree.setMany(keys, weights);
  }
}

describe("SortitionSumTree", function () {
  async function deployFixture() {
    const tree = await ethers.deployContract("SortitionSumTreeHarness");
    return { tree };
  }

  describe("when empty", function () {
    it("has total 0 and no weights", async function () {
      const { tree } = await loadFixture(deployFixture);
      expect(await tree.total()).to.equal(0n);
      expect(await tree.weightOf(key(0))).to.equal(0n);
      expect(await tree.nodeCount()).to.equal(0n);
    });

    it("reverts a draw with SortitionSumTreeDrawOutOfRange", async function () {
      const { tree } = await loadFixture(deployFixture);
      await expect(tree.draw(0)).to.be.revertedWithCustomError(tree, "SortitionSumTreeDrawOutOfRange").withArgs(0, 0);
    });

    it("ignores a zero weight for a key without a leaf", async function () {
      const { tree } = await loadFixture(deployFixture);
      await tree.set(key(0), 0);
      expect(await tree.nodeCount()).to.equal(0n);
      expect(await tree.leafOf(key(0))).to.equal(0n);
    });

    it("rejects the zero address as a key", async function () {
      const { tree } = await loadFixture(deployFixture);
      await expect(tree.set(ethers.ZeroAddress, 5)).to.be.revertedWithCustomError(tree, "SortitionSumTreeZeroKey");
    });
  });

  describe("when keys are set", function () {
    async function threeKeysFixture() {
      const { tree } = await deployFixture();
      await tree.setMany([key(0), key(1), key(2)], [1, 2, 7]);
      return { tree };
    }

    it("places them in leaves 1.. in order and sums them at the root", async function () {
      const { tree } = await loadFixture(threeKeysFixture);
      expect(await tree.total()).to.equal(10n);
      expect(await tree.node(0)).to.equal(10n);
      expect([await tree.leafOf(key(0)), await tree.leafOf(key(1)), await tree.leafOf(key(2))]).to.deep.equal([1n, 2n, 3n]);
      expect(await tree.weightOf(key(2))).to.equal(7n);
    });

    it("draws each value in the key's cumulative interval", async function () {
      const { tree } = await loadFixture(threeKeysFixture);
      const expected = [0, 1, 1, 2, 2, 2, 2, 2, 2, 2].map(key);
      for (let v = 0; v < 10; ++v) expect(await tree.draw(v)).to.equal(expected[v]);
      await expect(tree.draw(10)).to.be.revertedWithCustomError(tree, "SortitionSumTreeDrawOutOfRange").withArgs(10, 10);
    });

    it("updates a weight in place and leaves an unchanged weight alone", async function () {
      const { tree } = await loadFixture(threeKeysFixture);
      await tree.set(key(1), 5);
      expect(await tree.total()).to.equal(13n);
      expect(await tree.leafOf(key(1))).to.equal(2n);
      const nodes = await tree.nodeCount();
      await tree.set(key(1), 5);
      expect(await tree.total()).to.equal(13n);
      expect(await tree.nodeCount()).to.equal(nodes);
      await tree.set(key(1), 1);
      expect(await tree.total()).to.equal(9n);
    });

    it("vacates the leaf of a key set to zero and reuses it for the next new key", async function () {
      const { tree } = await loadFixture(threeKeysFixture);
      await tree.set(key(1), 0);
      expect(await tree.leafOf(key(1))).to.equal(0n);
      expect(await tree.vacantCount()).to.equal(1n);
      expect(await tree.total()).to.equal(8n);
      const nodes = await tree.nodeCount();
      await tree.set(key(9), 4);
      expect(await tree.leafOf(key(9))).to.equal(2n);
      expect(await tree.vacantCount()).to.equal(0n);
      expect(await tree.nodeCount()).to.equal(nodes);
      expect(await tree.total()).to.equal(12n);
    });

    it("turns a full level's first leaf into an inner node, moving its key one level down", async function () {
      const { tree } = await loadFixture(threeKeysFixture);
      await tree.set(key(3), 3); // leaf 4: the root is full
      await tree.set(key(4), 6); // leaf 5 = first child of leaf 1: key(0) moves to 6
      expect(await tree.leafOf(key(4))).to.equal(5n);
      expect(await tree.leafOf(key(0))).to.equal(6n);
      expect(await tree.node(1)).to.equal(7n); // inner: 6 + 1
      expect(await tree.nodeCount()).to.equal(7n);
      expect(await tree.total()).to.equal(19n);
      const hist = await drawHistogram(tree);
      for (const [i, w] of [
        [0, 1n],
        [1, 2n],
        [2, 7n],
        [3, 3n],
        [4, 6n],
      ] as const)
        expect(hist.get(key(i))).to.equal(w);
    });
  });

  describe("when random updates are applied (property)", function () {
    it("draws every key exactly weight times over 0..total-1", async function () {
      const runs = Number(process.env.UPOW_FC_RUNS ?? "6");
      const factory = await ethers.getContractFactory("SortitionSumTreeHarness");
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 30 }),
          async (ops) => {
            const tree = await factory.deploy();
            const model = new Map<string, bigint>();
            for (const [k, w] of ops) {
              await tree.set(key(k), w);
              if (w === 0) model.delete(key(k));
              else model.set(key(k), BigInt(w));
            }
            const total = [...model.values()].reduce((a, b) => a + b, 0n);
            expect(await tree.total()).to.equal(total);
            for (let k = 0; k < 12; ++k) expect(await tree.weightOf(key(k))).to.equal(model.get(key(k)) ?? 0n);
            const hist = await drawHistogram(tree);
            for (const [k, w] of model) expect(hist.get(k)).to.equal(w);
            expect(hist.size).to.equal(model.size);
          },
        ),
        { numRuns: runs },
      );
    });
  });

  describe("when the tree grows from 4 to 256 keys", function () {
    it("a draw's gas grows about logarithmically, not linearly", async function () {
      const small = await ethers.deployContract("SortitionSumTreeHarness");
      const large = await ethers.deployContract("SortitionSumTreeHarness");
      await fill(small, 4);
      await fill(large, 256);
      const base = 21_000n;
      // Average over draws spread across the whole weight range (first, middle, last leaves).
      const sample = async (tree: SortitionSumTreeHarness): Promise<bigint> => {
        const total = await tree.total();
        let sum = 0n;
        for (const f of [0n, 1n, 2n, 3n]) sum += (await drawGas(tree, (total * f) / 4n)) - base;
        return sum / 4n;
      };
      const gasSmall = await sample(small);
      const gasLarge = await sample(large);
      // Depth 1 vs depth 4 (K = 4): ≈ 4×; a linear scan would be ≈ 64×.
      const ratio = Number(gasLarge) / Number(gasSmall);
      console.log(`      draw gas (excl. 21000): N=4 ${gasSmall}, N=256 ${gasLarge}, ratio ${ratio.toFixed(2)}`);
      expect(ratio).to.be.greaterThan(1.2);
      expect(ratio).to.be.lessThan(10);
      expect(gasLarge).to.be.lessThan(60_000n);
    });
  });
});
