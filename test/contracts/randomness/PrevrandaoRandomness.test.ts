import { expect } from "chai";
import { concat, decodeRlp, encodeRlp, keccak256, toBeHex, type RlpStructuredData } from "ethers";
import { ethers, network } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { provenHeader, rpcBlock } from "../../helpers/blockHeader";

const HISTORY_ADDRESS = "0x0000F90827F1C53a10cb7A02335B175320002935";

/** The header RLP of `n` with field `index` replaced by `value` (still a well-formed list). */
function withField(rlp: string, index: number, value: string): string {
  const fields = decodeRlp(rlp) as RlpStructuredData[];
  fields[index] = value;
  return encodeRlp(fields);
}

describe("PrevrandaoRandomness", function () {
  async function deployFixture() {
    const rnd = await ethers.deployContract("PrevrandaoRandomness");
    const probe = await ethers.deployContract("PrevrandaoProbe");
    const [, keeper] = await ethers.getSigners();
    return { rnd, probe, keeper };
  }

  /** Hardhat's placeholder at the EIP-2935 address (always reverts), restored after each test. */
  let placeholder: string;
  before(async function () {
    placeholder = await network.provider.send("eth_getCode", [HISTORY_ADDRESS, "latest"]);
  });
  afterEach(async function () {
    await network.provider.send("hardhat_setCode", [HISTORY_ADDRESS, placeholder]);
  });

  describe("the header of a block of the running chain", function () {
    it("hashes to the block hash once rebuilt for the active hardfork", async function () {
      await mine(2);
      for (const n of [0n, 1n, BigInt(await ethers.provider.getBlockNumber())]) {
        const { rlp, block } = await provenHeader(n);
        expect(keccak256(rlp)).to.equal(block.hash);
      }
    });

    it("carries as mixHash the prevrandao that the EVM exposes in that block", async function () {
      const { probe } = await loadFixture(deployFixture);
      const receipt = await (await probe.observe()).wait();
      const [, value] = probe.interface.parseLog(receipt!.logs[0])!.args;
      const { block } = await provenHeader(BigInt(receipt!.blockNumber));
      expect(toBeHex(value, 32)).to.equal(block.mixHash);
    });
  });

  it("exposes the L1 delay and the windows it relies on", async function () {
    const { rnd } = await loadFixture(deployFixture);
    expect(await rnd.MIN_DELAY()).to.equal(64n);
    expect(await rnd.BLOCKHASH_WINDOW()).to.equal(256n);
    expect(await rnd.HISTORY_WINDOW()).to.equal(8191n);
    expect(await rnd.HISTORY_CONTRACT()).to.equal(HISTORY_ADDRESS);
    // Targets are numbered in this chain's blocks (eth_call runs with block.number = head).
    expect(await rnd.currentBlock()).to.equal(BigInt(await ethers.provider.getBlockNumber()));
  });

  describe("when the target block is within the last 256 blocks", function () {
    it("records its mixHash once, for anyone, and emits RandomnessRevealed", async function () {
      const { rnd, keeper } = await loadFixture(deployFixture);
      const target = BigInt(await ethers.provider.getBlockNumber()) + 1n;
      await mine(1 + 64);
      expect(await rnd.isAvailable(target)).to.equal(false);
      expect(await rnd.isExpired(target)).to.equal(false);
      await expect(rnd.valueAt(target)).to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessNotRevealed").withArgs(target);

      const { rlp, block } = await provenHeader(target);
      await expect(rnd.connect(keeper).reveal(target, rlp))
        .to.emit(rnd, "RandomnessRevealed")
        .withArgs(target, block.mixHash, keeper.address);
      expect(await rnd.isAvailable(target)).to.equal(true);
      expect(await rnd.isExpired(target)).to.equal(false);
      expect(await rnd.valueAt(target)).to.equal(block.mixHash);
      await expect(rnd.reveal(target, rlp)).to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessAlreadyRevealed").withArgs(target);
    });

    it("works for the block just mined and exactly 256 blocks back", async function () {
      const { rnd } = await loadFixture(deployFixture);
      const head = BigInt(await ethers.provider.getBlockNumber());
      const { rlp: rlpHead } = await provenHeader(head);
      await rnd.reveal(head, rlpHead); // mined in head + 1: blockhash(head) is served
      const old = BigInt(await ethers.provider.getBlockNumber());
      const { rlp } = await provenHeader(old);
      await mine(255); // the reveal is mined in old + 256
      await network.provider.send("hardhat_setCode", [HISTORY_ADDRESS, "0x"]);
      await rnd.reveal(old, rlp);
      expect(await rnd.isAvailable(old)).to.equal(true);
    });

    it("refuses the header of another block with PrevrandaoRandomnessWrongBlock", async function () {
      const { rnd } = await loadFixture(deployFixture);
      await mine(3);
      const target = BigInt(await ethers.provider.getBlockNumber()) - 1n;
      const { rlp } = await provenHeader(target - 1n);
      await expect(rnd.reveal(target, rlp))
        .to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessWrongBlock")
        .withArgs(target, target - 1n);
    });

    it("refuses a tampered header (another mixHash) with PrevrandaoRandomnessHeaderMismatch", async function () {
      const { rnd } = await loadFixture(deployFixture);
      await mine(2);
      const target = BigInt(await ethers.provider.getBlockNumber()) - 1n;
      const { rlp, block } = await provenHeader(target);
      const tampered = withField(rlp, 13, keccak256("0x01"));
      await expect(rnd.reveal(target, tampered))
        .to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessHeaderMismatch")
        .withArgs(target, block.hash, keccak256(tampered));
    });
  });

  describe("when the target block is not mined", function () {
    it("is neither available nor expired and cannot be revealed (PrevrandaoRandomnessNotMined)", async function () {
      const { rnd } = await loadFixture(deployFixture);
      const head = BigInt(await ethers.provider.getBlockNumber());
      // A header claiming the next block's number: refused before any hash is looked up.
      const { rlp } = await provenHeader(head);
      const claim = withField(rlp, 8, toBeHex(head + 1n));
      expect(await rnd.isAvailable(head + 1n)).to.equal(false);
      expect(await rnd.isExpired(head + 1n)).to.equal(false);
      await expect(rnd.reveal(head + 1n, claim))
        .to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessNotMined")
        .withArgs(head + 1n, head + 1n);
    });
  });

  describe("when the target block is older than 256 blocks", function () {
    describe("and the history contract is missing", function () {
      it("is expired, and reveal fails with PrevrandaoRandomnessHashUnavailable", async function () {
        const { rnd } = await loadFixture(deployFixture);
        await network.provider.send("hardhat_setCode", [HISTORY_ADDRESS, "0x"]);
        const target = BigInt(await ethers.provider.getBlockNumber());
        const { rlp } = await provenHeader(target);
        await mine(256);
        expect(await rnd.isExpired(target)).to.equal(false); // 256 back from the call's block
        await mine(1);
        expect(await rnd.isExpired(target)).to.equal(true);
        expect(await rnd.isAvailable(target)).to.equal(false);
        await expect(rnd.reveal(target, rlp))
          .to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessHashUnavailable")
          .withArgs(target, BigInt(await ethers.provider.getBlockNumber()) + 1n);
      });
    });

    describe("and the address holds Hardhat's placeholder (it always reverts)", function () {
      it("is expired", async function () {
        const { rnd } = await loadFixture(deployFixture);
        const target = BigInt(await ethers.provider.getBlockNumber());
        await mine(300);
        expect(await rnd.isExpired(target)).to.equal(true);
      });
    });

    describe("and a code there answers with something that is not a 32-byte word", function () {
      it("is expired (an empty or short return counts as unavailable)", async function () {
        const { rnd } = await loadFixture(deployFixture);
        const target = BigInt(await ethers.provider.getBlockNumber());
        await mine(300);
        await network.provider.send("hardhat_setCode", [HISTORY_ADDRESS, "0x00"]); // STOP: success, no data
        expect(await rnd.isExpired(target)).to.equal(true);
        await network.provider.send("hardhat_setCode", [HISTORY_ADDRESS, "0x60016000f3"]); // returns 1 byte
        expect(await rnd.isExpired(target)).to.equal(true);
      });
    });

    describe("and the EIP-2935 history contract serves the last 8191 blocks", function () {
      async function historyFixture() {
        const base = await deployFixture();
        const mock = await ethers.deployContract("HistoryStorageMock");
        const code = await network.provider.send("eth_getCode", [await mock.getAddress(), "latest"]);
        return { ...base, code };
      }

      it("reveals an old block against the hash it serves, until the block leaves its window", async function () {
        const { rnd, code } = await loadFixture(historyFixture);
        await network.provider.send("hardhat_setCode", [HISTORY_ADDRESS, code]);
        const history = await ethers.getContractAt("HistoryStorageMock", HISTORY_ADDRESS);
        const target = BigInt(await ethers.provider.getBlockNumber());
        const other = target - 1n;
        const { rlp, block } = await provenHeader(target);
        const { rlp: otherRlp } = await provenHeader(other);
        await history.fill(target, block.hash);
        await history.fill(other, (await rpcBlock(other)).hash);
        await mine(1000);
        // The history contract itself answers like the real one.
        const get = (n: bigint) => ethers.provider.call({ to: HISTORY_ADDRESS, data: toBeHex(n, 32) });
        expect(await get(target)).to.equal(block.hash);
        await expect(get(BigInt(await ethers.provider.getBlockNumber()) + 1n)).to.be.reverted;
        await expect(ethers.provider.call({ to: HISTORY_ADDRESS, data: "0x01" })).to.be.reverted;

        expect(await rnd.isExpired(target)).to.equal(false);
        const tampered = withField(rlp, 13, keccak256("0x02"));
        await expect(rnd.reveal(target, tampered))
          .to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessHeaderMismatch")
          .withArgs(target, block.hash, keccak256(tampered));
        await expect(rnd.reveal(target, rlp)).to.emit(rnd, "RandomnessRevealed");
        expect(await rnd.valueAt(target)).to.equal(block.mixHash);

        // `other` was never revealed: served up to 8191 blocks back, expired after.
        const now = BigInt(await ethers.provider.getBlockNumber());
        await mine(other + 8191n - now);
        expect(await rnd.isExpired(other)).to.equal(false);
        await mine(1);
        expect(await rnd.isExpired(other)).to.equal(true);
        await expect(rnd.reveal(other, otherRlp)).to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessHashUnavailable");
        // A revealed target never expires.
        expect(await rnd.isExpired(target)).to.equal(false);
        expect(await rnd.valueAt(target)).to.equal(block.mixHash);
      });
    });
  });

  describe("when the header is malformed", function () {
    async function headerFixture() {
      const base = await deployFixture();
      await mine(2);
      const target = BigInt(await ethers.provider.getBlockNumber()) - 1n;
      const { rlp } = await provenHeader(target);
      return { ...base, target, rlp };
    }

    it("refuses empty input and a non-list with BlockHeaderNotAList", async function () {
      const { rnd, target, rlp } = await loadFixture(headerFixture);
      await expect(rnd.reveal(target, "0x")).to.be.revertedWithCustomError(rnd, "BlockHeaderNotAList");
      await expect(rnd.reveal(target, "0xb90200" + rlp.slice(8))).to.be.revertedWithCustomError(rnd, "BlockHeaderNotAList");
    });

    it("refuses a truncated header, trailing bytes and a cut length with BlockHeaderLengthMismatch", async function () {
      const { rnd, target, rlp } = await loadFixture(headerFixture);
      const length = (rlp.length - 2) / 2;
      const truncated = rlp.slice(0, -20);
      await expect(rnd.reveal(target, truncated))
        .to.be.revertedWithCustomError(rnd, "BlockHeaderLengthMismatch")
        .withArgs(length, length - 10);
      await expect(rnd.reveal(target, rlp + "00"))
        .to.be.revertedWithCustomError(rnd, "BlockHeaderLengthMismatch")
        .withArgs(length, length + 1);
      // A long-list prefix whose length bytes are cut off.
      await expect(rnd.reveal(target, "0xf9")).to.be.revertedWithCustomError(rnd, "BlockHeaderLengthMismatch").withArgs(3, 1);
    });

    it("refuses a list too short for the fields it needs with BlockHeaderFieldOutOfBounds", async function () {
      const { rnd, target, rlp } = await loadFixture(headerFixture);
      const fields = decodeRlp(rlp) as string[];
      await expect(rnd.reveal(target, encodeRlp(fields.slice(0, 13))))
        .to.be.revertedWithCustomError(rnd, "BlockHeaderFieldOutOfBounds")
        .withArgs(13);
      // A string prefix that claims more bytes than the list holds (short and long form).
      await expect(rnd.reveal(target, "0xc185")).to.be.revertedWithCustomError(rnd, "BlockHeaderFieldOutOfBounds").withArgs(0);
      await expect(rnd.reveal(target, "0xc3b90100")).to.be.revertedWithCustomError(rnd, "BlockHeaderFieldOutOfBounds").withArgs(0);
      await expect(rnd.reveal(target, "0xc2b901")).to.be.revertedWithCustomError(rnd, "BlockHeaderFieldOutOfBounds").withArgs(0);
    });

    it("refuses a list field, an over-long number and a short mixHash with BlockHeaderInvalidField", async function () {
      const { rnd, target, rlp } = await loadFixture(headerFixture);
      const fields = decodeRlp(rlp) as RlpStructuredData[];
      const withList = [...fields];
      withList[2] = [fields[2]];
      await expect(rnd.reveal(target, encodeRlp(withList)))
        .to.be.revertedWithCustomError(rnd, "BlockHeaderInvalidField")
        .withArgs(2);
      await expect(rnd.reveal(target, withField(rlp, 8, concat(["0x01", keccak256("0x")]))))
        .to.be.revertedWithCustomError(rnd, "BlockHeaderInvalidField")
        .withArgs(8);
      await expect(rnd.reveal(target, withField(rlp, 13, "0x1234")))
        .to.be.revertedWithCustomError(rnd, "BlockHeaderInvalidField")
        .withArgs(13);
    });

    it("reads single-byte, empty and long-form strings (a header with odd but valid fields)", async function () {
      const { rnd, target, rlp } = await loadFixture(headerFixture);
      const fields = decodeRlp(rlp) as RlpStructuredData[];
      fields[1] = "0x05"; // a single byte below 0x80 is its own encoding
      fields[12] = `0x${"ab".repeat(60)}`; // extraData longer than 55 bytes: long-form string
      const odd = encodeRlp(fields);
      await expect(rnd.reveal(target, odd)).to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessHeaderMismatch");
      // An empty number is block 0.
      await expect(rnd.reveal(target, withField(rlp, 8, "0x")))
        .to.be.revertedWithCustomError(rnd, "PrevrandaoRandomnessWrongBlock")
        .withArgs(target, 0);
      // A short-form list prefix (fewer than 56 bytes of payload) reads as far as it can.
      await expect(rnd.reveal(target, encodeRlp(["0x01", "0x", "0x02"])))
        .to.be.revertedWithCustomError(rnd, "BlockHeaderFieldOutOfBounds")
        .withArgs(3);
    });
  });
});
