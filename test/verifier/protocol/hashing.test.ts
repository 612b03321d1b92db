import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createHash } from "node:crypto";
import type { UPowHashingHarness } from "../../../typechain-types";
import {
  batchLeaf,
  checkpointLeaf,
  checkpointTree,
  chunkCount,
  chunkLeaf,
  fileHash,
  InvalidHashError,
  merkleProof,
  merkleRoot,
  merkleTree,
  stepLeaf,
  stepRoot,
  stepTree,
  treeDepth,
  TreeIndexError,
  Uint64RangeError,
  verifyProof,
  ZERO_HASH,
  type Hash,
} from "../../../verifier/protocol/hashing";

function h(label: string): Hash {
  return `0x${createHash("sha256").update(label).digest("hex")}`;
}

/** Independent, naive root: explicit zero padding to 2^depth, then pairwise hashing. */
function naiveRoot(leaves: Hash[]): Hash {
  let width = 1;
  while (width < leaves.length) width *= 2;
  let level = [...leaves, ...Array<Hash>(width - leaves.length).fill(ZERO_HASH)];
  while (level.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(ethers.sha256(ethers.concat([level[i]!, level[i + 1]!])));
    level = next;
  }
  return level[0]!;
}

describe("protocol/hashing (against UPowHashing.sol)", function () {
  async function deployHarness(): Promise<{ harness: UPowHashingHarness }> {
    const harness = await ethers.deployContract("UPowHashingHarness");
    return { harness };
  }

  describe("tree depth", function () {
    it("matches the library for n = 1..40 and depth(1) = 0", async function () {
      const { harness } = await loadFixture(deployHarness);
      for (let n = 1; n <= 40; n++) expect(treeDepth(n)).to.equal(Number(await harness.depth(n)));
      expect(treeDepth(1)).to.equal(0);
      expect(treeDepth(33)).to.equal(6);
    });

    it("rejects n = 0", function () {
      expect(() => treeDepth(0)).to.throw(TreeIndexError);
      expect(() => merkleRoot([])).to.throw(TreeIndexError);
    });
  });

  for (const n of [1, 2, 3, 5, 8, 33]) {
    describe(`when the tree has ${n} leaves`, function () {
      const leaves = Array.from({ length: n }, (_, i) => h(`leaf-${n}-${i}`));

      it("has the root of explicit zero padding", function () {
        expect(merkleRoot(leaves)).to.equal(naiveRoot(leaves));
        if (n === 1) expect(merkleRoot(leaves)).to.equal(leaves[0]);
      });

      it("gives proofs that TS and the contract both accept", async function () {
        const { harness } = await loadFixture(deployHarness);
        const tree = merkleTree(leaves);
        for (let i = 0; i < n; i++) {
          const proof = tree.proof(i);
          expect(proof).to.have.length(treeDepth(n));
          expect(verifyProof(tree.root, n, i, leaves[i]!, proof)).to.equal(true);
          expect(await harness.verify(tree.root, n, i, leaves[i]!, proof)).to.equal(true);
        }
      });

      it("fails for a wrong index, a wrong length, a wrong direction or a wrong sibling", async function () {
        const { harness } = await loadFixture(deployHarness);
        const root = merkleRoot(leaves);
        const i = n - 1;
        const proof = merkleProof(leaves, i);
        const both = async (idx: number, nn: number, leaf: Hash, p: Hash[]): Promise<[boolean, boolean]> => [
          verifyProof(root, nn, idx, leaf, p),
          await harness.verify(root, nn, idx, leaf, p),
        ];
        // index outside the tree
        expect(await both(n, n, leaves[i]!, proof)).to.deep.equal([false, false]);
        // proof one too long / too short
        expect(await both(i, n, leaves[i]!, [...proof, ZERO_HASH])).to.deep.equal([false, false]);
        if (proof.length > 0) {
          expect(await both(i, n, leaves[i]!, proof.slice(1))).to.deep.equal([false, false]);
          // each direction bit flipped (another index inside the tree, same leaf and siblings)
          for (let l = 0; l < proof.length; l++) {
            const flipped = i ^ (1 << l);
            if (flipped < n) expect(await both(flipped, n, leaves[i]!, proof)).to.deep.equal([false, false]);
          }
          const tampered = [...proof];
          tampered[0] = h("not a sibling");
          expect(await both(i, n, leaves[i]!, tampered)).to.deep.equal([false, false]);
          // a claimed leaf count that changes the depth
          expect(await both(i, 2 * n + 1, leaves[i]!, proof)).to.deep.equal([false, false]);
        }
        expect(await both(i, n, h("other leaf"), proof)).to.deep.equal([false, false]);
      });
    });
  }

  describe("tagged leaves", function () {
    it("chunkLeaf matches for empty, short and full chunks", async function () {
      const { harness } = await loadFixture(deployHarness);
      for (const len of [0, 1, 31, 32, 33, 1000, 8192]) {
        const chunk = Buffer.alloc(len);
        for (let i = 0; i < len; i++) chunk[i] = (i * 7 + len) & 0xff;
        expect(chunkLeaf(chunk)).to.equal(await harness.chunkLeaf(chunk));
      }
    });

    it("stepLeaf, checkpointLeaf, batchLeaf and fileHash match at the uint64 edges", async function () {
      const { harness } = await loadFixture(deployHarness);
      const max = (1n << 64n) - 1n;
      for (const v of [0n, 1n, 255n, 256n, 2n ** 53n + 1n, max]) {
        const a = h(`a${v}`);
        const b = h(`b${v}`);
        expect(stepLeaf(v, a)).to.equal(await harness.stepLeaf(v, a));
        expect(checkpointLeaf(v, a, b)).to.equal(await harness.checkpointLeaf(v, a, b));
        expect(batchLeaf(v, a)).to.equal(await harness.batchLeaf(v, a));
        expect(fileHash(v, a)).to.equal(await harness.fileHash(v, a));
      }
      // number and bigint give the same bytes
      expect(stepLeaf(7, h("x"))).to.equal(stepLeaf(7n, h("x")));
    });

    it("separates the domains: the same fields under another tag hash differently", function () {
      const a = h("a");
      expect(stepLeaf(3, a)).to.not.equal(batchLeaf(3, a));
      expect(checkpointLeaf(3, a, ZERO_HASH)).to.not.equal(stepLeaf(3, a));
    });

    it("chunkCount matches", async function () {
      const { harness } = await loadFixture(deployHarness);
      for (const len of [1, 8191, 8192, 8193, 16384, 32768, 10_000_000]) {
        expect(chunkCount(len)).to.equal(Number(await harness.chunkCount(len)));
      }
    });

    it("rejects out-of-range integers and malformed hashes with typed errors", function () {
      expect(() => stepLeaf(-1, ZERO_HASH)).to.throw(Uint64RangeError, "globalStep");
      expect(() => batchLeaf(1n << 64n, ZERO_HASH)).to.throw(Uint64RangeError, "batch index");
      expect(() => checkpointLeaf(1.5, ZERO_HASH, ZERO_HASH)).to.throw(Uint64RangeError);
      expect(() => stepLeaf(0, "0x1234")).to.throw(InvalidHashError, "stateHash");
      expect(() => fileHash(1, ZERO_HASH.slice(2))).to.throw(InvalidHashError, "chunkRoot");
      expect(() => merkleTree([ZERO_HASH]).proof(1)).to.throw(TreeIndexError);
    });
  });

  describe("job trees", function () {
    it("a step root commits each state to its global step, provable on chain", async function () {
      const { harness } = await loadFixture(deployHarness);
      const k = 4;
      const first = 2n * BigInt(k);
      const states = Array.from({ length: k + 1 }, (_, j) => h(`state-${j}`));
      const tree = stepTree(states, first);
      expect(tree.root).to.equal(stepRoot(states, first));
      expect(stepRoot(states, first)).to.not.equal(stepRoot(states, first + 1n));
      for (let j = 0; j <= k; j++) {
        const leaf = await harness.stepLeaf(first + BigInt(j), states[j]!);
        expect(await harness.verify(tree.root, k + 1, j, leaf, tree.proof(j))).to.equal(true);
      }
    });

    it("a checkpoint tree proves leaf 0 and the last leaf (stepRoot 0) on chain", async function () {
      const { harness } = await loadFixture(deployHarness);
      const n = 6;
      const cps = Array.from({ length: n }, (_, i) => ({
        stateHash: h(`ckpt-${i}`),
        stepRoot: i === n - 1 ? ZERO_HASH : h(`steps-${i}`),
      }));
      const tree = checkpointTree(cps);
      expect(tree.n).to.equal(n);
      for (const i of [0, 3, n - 1]) {
        const leaf = await harness.checkpointLeaf(i, cps[i]!.stateHash, cps[i]!.stepRoot);
        expect(tree.leaves[i]).to.equal(leaf);
        expect(await harness.verify(tree.root, n, i, leaf, tree.proof(i))).to.equal(true);
      }
    });
  });
});
