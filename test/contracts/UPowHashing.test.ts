import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { randomBytes } from "node:crypto";
import type { UPowHashingHarness } from "../../typechain-types";
import {
  batchLeaf,
  checkpointLeaf,
  chunkLeaf,
  depth,
  fileHash,
  MerkleInputError,
  proof,
  root,
  sha256,
  stepLeaf,
  ZERO_HASH,
  type Hex,
} from "../helpers/merkle";

function leaves(n: number): Hex[] {
  return Array.from({ length: n }, (_, i) => sha256(Buffer.from(`leaf ${i}`)));
}

describe("UPowHashing (library) and its TypeScript twin", function () {
  async function fixture(): Promise<UPowHashingHarness> {
    return ethers.deployContract("UPowHashingHarness");
  }

  it("depth is ceil(log2 n) on both sides", async function () {
    const h = await loadFixture(fixture);
    for (const [n, d] of [
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 3],
      [1024, 10],
      [1025, 11],
    ]) {
      expect(await h.depth(n)).to.equal(BigInt(d));
      expect(depth(n)).to.equal(d);
    }
    expect(() => depth(0)).to.throw(MerkleInputError);
  });

  it("verifies every leaf of trees of 1..9 leaves built in TypeScript", async function () {
    const h = await loadFixture(fixture);
    for (let n = 1; n <= 9; n++) {
      const ls = leaves(n);
      const r = root(ls);
      for (let i = 0; i < n; i++) expect(await h.verify(r, n, i, ls[i], proof(ls, i))).to.equal(true);
    }
    expect(root(leaves(1))).to.equal(leaves(1)[0]);
    // padding is with zero hashes
    const three = leaves(3);
    expect(root(three)).to.equal(root([...three, ZERO_HASH]));
  });

  it("rejects a wrong leaf, index, leaf count or proof length", async function () {
    const h = await loadFixture(fixture);
    const ls = leaves(5);
    const r = root(ls);
    const p = proof(ls, 2);
    expect(await h.verify(r, 5, 2, ls[3], p)).to.equal(false); // wrong leaf
    expect(await h.verify(r, 5, 3, ls[2], p)).to.equal(false); // position is bound
    expect(await h.verify(r, 5, 5, ls[2], p)).to.equal(false); // index ≥ n
    expect(await h.verify(r, 0, 0, ls[2], [])).to.equal(false); // n = 0
    expect(await h.verify(r, 5, 2, ls[2], p.slice(1))).to.equal(false); // short proof
    expect(await h.verify(r, 9, 2, ls[2], p)).to.equal(false); // depth of another n
    expect(() => proof(ls, 5)).to.throw(MerkleInputError);
  });

  it("tags leaves identically in Solidity and TypeScript", async function () {
    const h = await loadFixture(fixture);
    const x = sha256(Buffer.from("x"));
    const y = sha256(Buffer.from("y"));
    const chunk = randomBytes(100);
    expect(await h.chunkLeaf(chunk)).to.equal(chunkLeaf(chunk));
    expect(await h.stepLeaf(7, x)).to.equal(stepLeaf(7, x));
    expect(await h.checkpointLeaf(3, x, y)).to.equal(checkpointLeaf(3, x, y));
    expect(await h.batchLeaf(2n ** 64n - 1n, x)).to.equal(batchLeaf(2n ** 64n - 1n, x));
    expect(await h.fileHash(32_769, x)).to.equal(fileHash(32_769, x));
    // tags separate the trees: the same fields never give the same leaf
    expect(stepLeaf(3, x)).not.to.equal(batchLeaf(3, x));
    expect(() => stepLeaf(-1, x)).to.throw(MerkleInputError);
    expect(() => stepLeaf(1, "0x12" as Hex)).to.throw(MerkleInputError);
  });

  it("counts 8 KiB chunks", async function () {
    const h = await loadFixture(fixture);
    for (const [len, n] of [
      [0, 0],
      [1, 1],
      [8_192, 1],
      [8_193, 2],
      [16_384, 2],
      [32_768, 4],
    ]) {
      expect(await h.chunkCount(len)).to.equal(BigInt(n));
    }
  });
});
