import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";

describe("BlockhashRandomness", function () {
  async function deployFixture() {
    const rnd = await ethers.deployContract("BlockhashRandomness");
    return { rnd };
  }

  describe("constructor (v3 V3.5: test chains only)", function () {
    it("refuses chain 1 and accepts the dev chain 1337 (the chain id the constructor reads is overridden)", async function () {
      const factory = await ethers.getContractFactory("BlockhashRandomnessOnMainnet");
      await expect(factory.deploy()).to.be.revertedWithCustomError(factory, "BlockhashRandomnessNotTestChain").withArgs(1n);
      const dev = await ethers.deployContract("BlockhashRandomnessOnDevChain");
      expect(await dev.HISTORY()).to.equal(256n);
    });
  });

  describe("when the target block is not mined yet", function () {
    it("is neither available nor expired, and valueAt reverts with BlockhashRandomnessNotMined", async function () {
      const { rnd } = await loadFixture(deployFixture);
      const head = BigInt(await ethers.provider.getBlockNumber());
      // Hardhat runs eth_call in the context of the latest block: it and later ones are not "mined"
      // from the call's point of view (block.number = head), as in a transaction of block head.
      for (const target of [head, head + 1n, head + 5n]) {
        expect(await rnd.isAvailable(target)).to.equal(false);
        expect(await rnd.isExpired(target)).to.equal(false);
        await expect(rnd.valueAt(target)).to.be.revertedWithCustomError(rnd, "BlockhashRandomnessNotMined").withArgs(target, head);
      }
    });
  });

  describe("when the target block is mined and recent", function () {
    it("returns its blockhash", async function () {
      const { rnd } = await loadFixture(deployFixture);
      const target = BigInt(await ethers.provider.getBlockNumber()) + 3n;
      await mine(3);
      expect(await rnd.isAvailable(target)).to.equal(false);
      await mine(1);
      const block = await ethers.provider.getBlock(target);
      expect(await rnd.isAvailable(target)).to.equal(true);
      expect(await rnd.isExpired(target)).to.equal(false);
      expect(await rnd.valueAt(target)).to.equal(block?.hash);
    });

    it("stays available for exactly HISTORY (256) blocks before the current one", async function () {
      const { rnd } = await loadFixture(deployFixture);
      expect(await rnd.HISTORY()).to.equal(256n);
      const target = BigInt(await ethers.provider.getBlockNumber());
      // eth_call executes with block.number = head; head = target + 256 puts target 256 back.
      await mine(256);
      expect(await rnd.isAvailable(target)).to.equal(true);
      expect(await rnd.valueAt(target)).to.equal((await ethers.provider.getBlock(target))?.hash);
      await mine(1);
      expect(await rnd.isAvailable(target)).to.equal(false);
    });
  });

  describe("when the target block is older than HISTORY blocks", function () {
    it("is expired and valueAt reverts with BlockhashRandomnessExpired", async function () {
      const { rnd } = await loadFixture(deployFixture);
      const target = BigInt(await ethers.provider.getBlockNumber());
      await mine(300);
      const current = BigInt(await ethers.provider.getBlockNumber());
      expect(await rnd.isAvailable(target)).to.equal(false);
      expect(await rnd.isExpired(target)).to.equal(true);
      await expect(rnd.valueAt(target)).to.be.revertedWithCustomError(rnd, "BlockhashRandomnessExpired").withArgs(target, current);
    });
  });
});
