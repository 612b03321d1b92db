import { expect } from "chai";
import { AbiCoder, keccak256, toBeHex } from "ethers";
import { ethers, network } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";

/** The value VrfRandomness records for `word` delivered for `blockNumber`. */
function valueOf(word: bigint, blockNumber: bigint): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [word, blockNumber]));
}

describe("VrfRandomness", function () {
  async function deployFixture() {
    const coordinator = await ethers.deployContract("VrfCoordinatorMock");
    const rnd = await ethers.deployContract("VrfRandomness", [await coordinator.getAddress()]);
    const [, keeper, stranger] = await ethers.getSigners();
    return { coordinator, rnd, keeper, stranger };
  }

  describe("when the target block is not reached", function () {
    it("cannot be requested yet (VrfRandomnessTooEarly) and is never expired", async function () {
      const { rnd } = await loadFixture(deployFixture);
      const head = BigInt(await ethers.provider.getBlockNumber());
      expect(await rnd.currentBlock()).to.equal(head); // targets count this chain's blocks
      // The request is mined in head + 1: head + 1 is requestable, head + 2 not.
      await expect(rnd.request(head + 2n))
        .to.be.revertedWithCustomError(rnd, "VrfRandomnessTooEarly")
        .withArgs(head + 2n, head + 1n);
      expect(await rnd.isExpired(head + 2n)).to.equal(false);
      expect(await rnd.isAvailable(head + 2n)).to.equal(false);
      await expect(rnd.request(head + 1n)).to.emit(rnd, "RandomnessRequested");
    });
  });

  describe("when the target block is reached", function () {
    it("is requested once by anyone, fulfilled by the coordinator in a later block, and read", async function () {
      const { coordinator, rnd, keeper } = await loadFixture(deployFixture);
      const target = BigInt(await ethers.provider.getBlockNumber());
      expect(await rnd.requestOf(target)).to.deep.equal([false, 0n]);
      await expect(rnd.connect(keeper).request(target)).to.emit(rnd, "RandomnessRequested").withArgs(target, 1n, keeper.address);
      expect(await rnd.requestOf(target)).to.deep.equal([true, 1n]);
      await expect(rnd.request(target)).to.be.revertedWithCustomError(rnd, "VrfRandomnessAlreadyRequested").withArgs(target);
      await expect(rnd.valueAt(target)).to.be.revertedWithCustomError(rnd, "VrfRandomnessNotFulfilled").withArgs(target);

      // A faithful coordinator fulfils in a later block than the request.
      await network.provider.send("evm_setAutomine", [false]);
      try {
        await rnd.request(target - 1n);
        const sameBlock = await coordinator.fulfill.populateTransaction(2n);
        const [signer] = await ethers.getSigners();
        const tx = await signer.sendTransaction({ ...sameBlock, gasLimit: 500_000n });
        await mine(1);
        // Reverted (VrfCoordinatorMockSameBlock): the request and this fulfil share a block.
        expect((await ethers.provider.getTransactionReceipt(tx.hash))!.status).to.equal(0);
        expect((await coordinator.requests(2n)).fulfilled).to.equal(false);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      await expect(coordinator.fulfill(2n)).to.emit(rnd, "RandomnessFulfilled");
      // (wordOf reads blockhash of the request block: ask once that block is no longer the latest.)
      expect(await rnd.valueAt(target - 1n)).to.equal(valueOf(await coordinator.wordOf(2n), target - 1n));

      const word = await coordinator.wordOf(1n);
      await expect(coordinator.fulfill(1n)).to.emit(rnd, "RandomnessFulfilled").withArgs(target, 1n, valueOf(word, target));
      expect(await rnd.isAvailable(target)).to.equal(true);
      expect(await rnd.isExpired(target)).to.equal(false);
      expect(await rnd.valueAt(target)).to.equal(valueOf(word, target));
      // Much later the value is still there and the block never expires.
      await mine(10_000);
      expect(await rnd.valueAt(target)).to.equal(valueOf(word, target));
      expect(await rnd.isExpired(target - 1n)).to.equal(false);
    });

    it("accepts a fulfilment only from the coordinator, for its own pending requests", async function () {
      const { coordinator, rnd, stranger } = await loadFixture(deployFixture);
      const target = BigInt(await ethers.provider.getBlockNumber());
      await rnd.request(target);
      await expect(rnd.connect(stranger).fulfill(1n, 42n))
        .to.be.revertedWithCustomError(rnd, "VrfRandomnessNotCoordinator")
        .withArgs(stranger.address);
      const address = await rnd.getAddress();
      await expect(coordinator.deliver(address, 7n, 42n))
        .to.be.revertedWithCustomError(rnd, "VrfRandomnessUnknownRequest")
        .withArgs(7n);
      await coordinator.fulfill(1n);
      await expect(coordinator.fulfill(1n)).to.be.revertedWithCustomError(coordinator, "VrfCoordinatorMockNotPending").withArgs(1n);
      await expect(coordinator.deliver(address, 1n, 42n))
        .to.be.revertedWithCustomError(rnd, "VrfRandomnessAlreadyFulfilled")
        .withArgs(target);
      expect(await rnd.valueAt(target)).to.not.equal(valueOf(42n, target));
    });

    it("records a zero word as a non-zero value", async function () {
      const { coordinator, rnd } = await loadFixture(deployFixture);
      const target = BigInt(await ethers.provider.getBlockNumber());
      await rnd.request(target);
      await coordinator.deliver(await rnd.getAddress(), 1n, 0n);
      expect(await rnd.valueAt(target)).to.equal(valueOf(0n, target));
      expect(await rnd.valueAt(target)).to.not.equal(toBeHex(0, 32));
    });
  });

  describe("when the coordinator re-enters request", function () {
    it("cannot get a second request for the same block (VrfRandomnessAlreadyRequested)", async function () {
      const coordinator = await ethers.deployContract("ReentrantVrfCoordinator");
      const rnd = await ethers.deployContract("VrfRandomness", [await coordinator.getAddress()]);
      const target = BigInt(await ethers.provider.getBlockNumber()) + 1n; // the block the request is mined in
      await expect(rnd.request(target, { gasLimit: 1_000_000n }))
        .to.be.revertedWithCustomError(rnd, "VrfRandomnessAlreadyRequested")
        .withArgs(target);
    });
  });
});
