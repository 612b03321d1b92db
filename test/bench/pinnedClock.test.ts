import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { mine, time, takeSnapshot } from "@nomicfoundation/hardhat-network-helpers";
import { pinBlockTimestamps } from "../../bench/lib/pinnedClock";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function latestTimestamp(): Promise<number> {
  return (await ethers.provider.getBlock("latest"))!.timestamp;
}

describe("bench pinned clock (the gas suite's draws do not depend on the wall clock)", function () {
  it("stamps every block one second after its parent however long the caller waits, honours explicit times, and unpins", async function () {
    const provider = hre.network.provider;
    const { request, send } = provider;
    const snapshot = await takeSnapshot();
    const unpin = pinBlockTimestamps(provider);
    try {
      const [a, b] = await ethers.getSigners();
      const t0 = await latestTimestamp();
      // hardhat-ethers sends through `send`; 2.1 s of wall clock would move an unpinned block ≥ 2 s.
      await (await a.sendTransaction({ to: b.address, value: 1n })).wait();
      await sleep(2_100);
      await (await a.sendTransaction({ to: b.address, value: 1n })).wait();
      expect(await latestTimestamp()).to.equal(t0 + 2);
      // The network helpers call `request`.
      await sleep(1_100);
      await mine(3);
      expect(await latestTimestamp()).to.equal(t0 + 5);
      // An explicit time is the caller's: kept, and pinning resumes from it.
      await time.increase(100);
      expect(await latestTimestamp()).to.equal(t0 + 105);
      await (await a.sendTransaction({ to: b.address, value: 1n })).wait();
      expect(await latestTimestamp()).to.equal(t0 + 106);
    } finally {
      unpin();
      await snapshot.restore();
    }
    expect(provider.request).to.equal(request);
    expect(provider.send).to.equal(send);
  });
});
