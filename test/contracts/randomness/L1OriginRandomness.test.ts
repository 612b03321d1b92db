import { expect } from "chai";
import { decodeRlp, encodeRlp, keccak256, type RlpStructuredData } from "ethers";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { provenHeader } from "../../helpers/blockHeader";

/**
 * The local chain stands in for L1: the test plays the derivation and feeds the L1Block mock the
 * number and hash of its real blocks, then proves their headers.
 */
describe("L1OriginRandomness", function () {
  async function deployFixture() {
    const oracle = await ethers.deployContract("L1BlockMock");
    const rnd = await ethers.deployContract("L1OriginRandomness", [await oracle.getAddress()]);
    const [, keeper] = await ethers.getSigners();
    await mine(5);
    const first = BigInt(await ethers.provider.getBlockNumber()) - 4n;
    /** Makes "L1" block `n` the origin. */
    const origin = async (n: bigint) => {
      const { block } = await provenHeader(n);
      await oracle.setL1BlockValues(n, block.hash);
    };
    await origin(first);
    return { oracle, rnd, keeper, first, origin };
  }

  it("reads the oracle and exposes the L1 delay", async function () {
    const { oracle, rnd, first } = await loadFixture(deployFixture);
    expect(await rnd.oracle()).to.equal(await oracle.getAddress());
    expect(await rnd.currentBlock()).to.equal(first);
    expect(await rnd.MIN_DELAY()).to.equal(64n);
  });

  describe("when the target is the current L1 origin", function () {
    it("checkpoints it once (L1BlockCheckpointed), then anyone reveals its mixHash once", async function () {
      const { rnd, keeper, first, origin } = await loadFixture(deployFixture);
      const { rlp, block } = await provenHeader(first);
      expect(await rnd.isExpired(first)).to.equal(false);
      await expect(rnd.reveal(first, rlp)).to.be.revertedWithCustomError(rnd, "L1OriginRandomnessNotCheckpointed").withArgs(first);

      await expect(rnd.connect(keeper).checkpoint()).to.emit(rnd, "L1BlockCheckpointed").withArgs(first, block.hash);
      expect(await rnd.checkpointed(first)).to.equal(block.hash);
      await expect(rnd.checkpoint()).to.be.revertedWithCustomError(rnd, "L1OriginRandomnessAlreadyCheckpointed").withArgs(first);

      // The origin moves on; the recorded hash keeps the target provable.
      await origin(first + 1n);
      await origin(first + 2n);
      expect(await rnd.isExpired(first)).to.equal(false);
      expect(await rnd.isAvailable(first)).to.equal(false);
      await expect(rnd.valueAt(first)).to.be.revertedWithCustomError(rnd, "L1OriginRandomnessNotRevealed").withArgs(first);

      await expect(rnd.connect(keeper).reveal(first, rlp))
        .to.emit(rnd, "RandomnessRevealed")
        .withArgs(first, block.mixHash, keeper.address);
      expect(await rnd.isAvailable(first)).to.equal(true);
      expect(await rnd.valueAt(first)).to.equal(block.mixHash);
      await expect(rnd.reveal(first, rlp)).to.be.revertedWithCustomError(rnd, "L1OriginRandomnessAlreadyRevealed").withArgs(first);
    });

    it("refuses another block's header, a tampered header and garbage", async function () {
      const { rnd, first } = await loadFixture(deployFixture);
      await rnd.checkpoint();
      const { rlp, block } = await provenHeader(first);
      const { rlp: next } = await provenHeader(first + 1n);
      await expect(rnd.reveal(first, next))
        .to.be.revertedWithCustomError(rnd, "L1OriginRandomnessWrongBlock")
        .withArgs(first, first + 1n);
      const fields = decodeRlp(rlp) as RlpStructuredData[];
      fields[13] = keccak256("0x03");
      const tampered = encodeRlp(fields);
      await expect(rnd.reveal(first, tampered))
        .to.be.revertedWithCustomError(rnd, "L1OriginRandomnessHeaderMismatch")
        .withArgs(first, block.hash, keccak256(tampered));
      await expect(rnd.reveal(first, rlp.slice(0, -2))).to.be.revertedWithCustomError(rnd, "BlockHeaderLengthMismatch");
      await expect(rnd.reveal(first, "0x1234")).to.be.revertedWithCustomError(rnd, "BlockHeaderNotAList");
    });
    it("refuses a header whose mixHash is zero (no randomness in it) with L1OriginRandomnessZeroValue", async function () {
      const { oracle, rnd, first } = await loadFixture(deployFixture);
      // A pre-merge or faulty origin: the oracle vouches for a header that carries no mixHash.
      const fields = decodeRlp((await provenHeader(first + 1n)).rlp) as RlpStructuredData[];
      fields[13] = ethers.ZeroHash;
      const zeroMix = encodeRlp(fields);
      await oracle.setL1BlockValues(first + 1n, keccak256(zeroMix));
      await rnd.checkpoint();
      await expect(rnd.reveal(first + 1n, zeroMix))
        .to.be.revertedWithCustomError(rnd, "L1OriginRandomnessZeroValue")
        .withArgs(first + 1n);
      expect(await rnd.isAvailable(first + 1n)).to.equal(false);
    });
  });

  describe("when the oracle passed the target without a checkpoint", function () {
    it("is expired for ever (the consumer re-targets)", async function () {
      const { rnd, first, origin } = await loadFixture(deployFixture);
      expect(await rnd.isExpired(first + 1n)).to.equal(false); // not reached yet
      await origin(first + 1n);
      expect(await rnd.isExpired(first + 1n)).to.equal(false); // current origin: still checkpointable
      await origin(first + 2n);
      expect(await rnd.isExpired(first)).to.equal(true);
      expect(await rnd.isExpired(first + 1n)).to.equal(true);
      await rnd.checkpoint();
      expect(await rnd.isExpired(first + 2n)).to.equal(false);
      const { rlp } = await provenHeader(first);
      await expect(rnd.reveal(first, rlp)).to.be.revertedWithCustomError(rnd, "L1OriginRandomnessNotCheckpointed").withArgs(first);
    });
  });

  describe("the L1Block mock", function () {
    it("never skips an L1 block, like the derivation", async function () {
      const { oracle, first } = await loadFixture(deployFixture);
      await expect(oracle.setL1BlockValues(first + 2n, keccak256("0x")))
        .to.be.revertedWithCustomError(oracle, "L1BlockMockSkipped")
        .withArgs(first, first + 2n);
      await oracle.setL1BlockValues(first, (await provenHeader(first)).block.hash);
    });
  });
});
