/**
 * StakeManager (v3 V3): free stake, the queued juror reserve, per-epoch frozen draw weights and
 * seat draws with replacement. The StakeManager is deployed alone; a test account holds MODULE_ROLE
 * so locks, slashes and draws are driven directly. Expected draws come from a TypeScript replica of
 * the SortitionSumTree and of `_draw`, fed the same weight changes in the same order.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { StakeManager, TestToken } from "../../typechain-types";
import { enterNextEpoch, TEST_EPOCHS } from "../helpers/staking";

const PERIOD = 86_400n; // unbonding period, 1 day
const MIN = 100n; // minJurorStake
const EPOCH = BigInt(TEST_EPOCHS.epochLength);
const WINDOW = BigInt(TEST_EPOCHS.drawWindow);
const LOCK_A = ethers.id("lock-a");
const LOCK_B = ethers.id("lock-b");
const SEED = ethers.id("seed");
const coder = ethers.AbiCoder.defaultAbiCoder();

// ----------------------------------------------------------------------------- reference model

/** TypeScript replica of contracts/lib/SortitionSumTree.sol (K = 4). */
export class SumTreeModel {
  nodes: bigint[] = [];
  vacant: number[] = [];
  leafOf = new Map<string, number>();
  keyOf = new Map<number, string>();

  total(): bigint {
    return this.nodes.length === 0 ? 0n : this.nodes[0];
  }

  weightOf(key: string): bigint {
    const i = this.leafOf.get(key) ?? 0;
    return i === 0 ? 0n : this.nodes[i];
  }

  set(key: string, weight: bigint): void {
    let index = this.leafOf.get(key) ?? 0;
    if (index === 0) {
      if (weight === 0n) return;
      index = this.newLeaf(key);
    }
    const old = this.nodes[index];
    if (old === weight) return;
    if (weight === 0n) {
      this.leafOf.delete(key);
      this.keyOf.delete(index);
      this.vacant.push(index);
    }
    this.nodes[index] = weight;
    while (index !== 0) {
      index = Math.floor((index - 1) / 4);
      this.nodes[index] = this.nodes[index] - old + weight;
    }
  }

  draw(value: bigint): string {
    let index = 0;
    while (4 * index + 1 < this.nodes.length) {
      let child = 4 * index + 1;
      let w = this.nodes[child];
      while (value >= w) {
        value -= w;
        ++child;
        w = this.nodes[child];
      }
      index = child;
    }
    const key = this.keyOf.get(index);
    if (key === undefined) throw new Error("model: drew an empty leaf");
    return key;
  }

  private newLeaf(key: string): number {
    if (this.nodes.length === 0) this.nodes.push(0n);
    let index: number;
    const v = this.vacant.pop();
    if (v !== undefined) index = v;
    else {
      index = this.nodes.length;
      this.nodes.push(0n);
      if (index !== 1 && (index - 1) % 4 === 0) {
        const parent = Math.floor(index / 4);
        const moved = this.keyOf.get(parent)!;
        this.nodes.push(this.nodes[parent]);
        this.keyOf.delete(parent);
        this.keyOf.set(index + 1, moved);
        this.leafOf.set(moved, index + 1);
      }
    }
    this.leafOf.set(key, index);
    this.keyOf.set(index, key);
    return index;
  }
}

/** Pick `nonce` of `seed`: `keccak256(abi.encode(seed, nonce)) % total`. */
export function pick(seed: string, nonce: number, total: bigint): bigint {
  return BigInt(ethers.keccak256(coder.encode(["bytes32", "uint256"], [seed, nonce]))) % total;
}

export interface Drawn {
  accounts: string[];
  seats: bigint[];
  /** Picks made (nonces used). */
  picks: number;
  /** Excluded picks redrawn. */
  skips: number;
}

/**
 * Replica of `StakeManager._draw`: seats with replacement, excluded picks redrawn at most MAX_SKIPS
 * times, a pick of an account that already holds `weight / lockPerSeat` seats of this draw left
 * empty (not redrawn; lockPerSeat 0: no cap). Only the frozen tree decides: live locks play no part.
 */
export function modelDraw(tree: SumTreeModel, seed: string, seats: number, lockPerSeat: bigint, exclude: string[]): Drawn {
  const accounts: string[] = [];
  const counts: bigint[] = [];
  const sum = tree.total();
  let nonce = 0;
  let skips = 0;
  for (let seat = 0; seat < seats && sum !== 0n;) {
    const who = tree.draw(pick(seed, nonce++, sum));
    if (exclude.includes(who)) {
      if (++skips > 16) break;
      continue;
    }
    ++seat;
    const i = accounts.indexOf(who);
    const held = i < 0 ? 0n : counts[i];
    if (lockPerSeat !== 0n && (held + 1n) * lockPerSeat > tree.weightOf(who)) continue;
    if (i < 0) {
      accounts.push(who);
      counts.push(1n);
    } else counts[i] += 1n;
  }
  return { accounts, seats: counts, picks: nonce, skips };
}

/** What `drawSeats` locks per seated account: min(seats·lockPerSeat, reserve − seatLocked); updates `unlocked`. */
export function modelLocks(d: Drawn, lockPerSeat: bigint, unlocked: Map<string, bigint>): bigint[] {
  return d.accounts.map((who, i) => {
    const u = unlocked.get(who) ?? 0n;
    const want = d.seats[i] * lockPerSeat;
    const amount = want < u ? want : u;
    unlocked.set(who, u - amount);
    return amount;
  });
}

/** Σ (free + locked + unbonding + reserve + pendingJoin) over `accounts` equals the contract's balance. */
async function expectConservation(sm: StakeManager, token: TestToken, accounts: string[]): Promise<void> {
  let sum = 0n;
  for (const a of accounts) {
    const acc = await sm.account(a);
    sum += acc.free + acc.locked + acc.unbonding + acc.reserve + acc.pendingJoin;
  }
  expect(await token.balanceOf(await sm.getAddress())).to.equal(sum);
}

/** Moves time to the first second of the next epoch without applying anything. */
async function toNextEpoch(sm: StakeManager): Promise<bigint> {
  const e = await sm.currentEpoch();
  await time.increaseTo(await sm.epochStart(e + 1n));
  return e + 1n;
}

function sum(xs: bigint[]): bigint {
  return xs.reduce((a, b) => a + b, 0n);
}

describe("StakeManager", function () {
  async function deployFixture() {
    const signers = await ethers.getSigners();
    const [admin, module, outsider, alice, bob, carol, dave] = signers;
    const stakers = signers.slice(3);
    const token = await ethers.deployContract("TestToken", ["Stake", "STK"]);
    const sm = await ethers.deployContract("StakeManager", [await token.getAddress(), admin.address, PERIOD, MIN, EPOCH, WINDOW]);
    const MODULE_ROLE = await sm.MODULE_ROLE();
    const GOVERNOR_ROLE = await sm.GOVERNOR_ROLE();
    await sm.connect(admin).grantRole(MODULE_ROLE, module.address);
    for (const s of stakers) {
      await token.mint(s.address, 1_000_000n);
      await token.connect(s).approve(await sm.getAddress(), ethers.MaxUint256);
    }
    return { sm, token, admin, module, outsider, alice, bob, carol, dave, stakers, MODULE_ROLE, GOVERNOR_ROLE };
  }

  /** alice, bob, carol: free 1000 each and reserves 100 / 200 / 700 applied (epoch 1); weights 1 : 2 : 7. */
  async function jurorFixture() {
    const f = await deployFixture();
    const reserves: [HardhatEthersSigner, bigint][] = [
      [f.alice, 100n],
      [f.bob, 200n],
      [f.carol, 700n],
    ];
    for (const [s, r] of reserves) {
      await f.sm.connect(s).stake(1000n);
      await f.sm.connect(s).stakeForJury(r);
    }
    await enterNextEpoch(f.sm);
    const tree = new SumTreeModel();
    for (const [s, r] of reserves) tree.set(s.address, r);
    const unlocked = () => new Map(reserves.map(([s, r]) => [s.address, r]));
    return { ...f, tree, unlocked };
  }

  describe("deployment", function () {
    it("stores token, parameters, genesis and epochs, grants DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE", async function () {
      const { sm, token, admin, GOVERNOR_ROLE } = await loadFixture(deployFixture);
      const receipt = await sm.deploymentTransaction()!.wait();
      const block = await ethers.provider.getBlock(receipt!.blockNumber);
      expect(await sm.stakingToken()).to.equal(await token.getAddress());
      expect(await sm.unbondingPeriod()).to.equal(PERIOD);
      expect(await sm.minJurorStake()).to.equal(MIN);
      expect(await sm.genesis()).to.equal(BigInt(block!.timestamp));
      expect(await sm.epochLength()).to.equal(EPOCH);
      expect(await sm.drawWindow()).to.equal(WINDOW);
      expect(await sm.hasRole(await sm.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await sm.hasRole(GOVERNOR_ROLE, admin.address)).to.equal(true);
      expect(await sm.hasRole(await sm.MODULE_ROLE(), admin.address)).to.equal(false);
      expect(await sm.totalJurorWeight()).to.equal(0n);
      expect(await sm.currentEpoch()).to.equal(0n);
      expect(await sm.queueLength()).to.equal(0n);
      expect(await sm.queueSettled()).to.equal(true);
      expect(
        await Promise.all([
          sm.MIN_UNBONDING_PERIOD(),
          sm.MAX_UNBONDING_PERIOD(),
          sm.MAX_DRAW(),
          sm.MAX_EXCLUDE(),
          sm.MAX_SKIPS(),
          sm.MAX_APPLY(),
          sm.MIN_EPOCH_LENGTH(),
        ]),
      ).to.deep.equal([3_600n, 90n * 86_400n, 64n, 8n, 16n, 32n, 60n]);
    });

    it("emits UnbondingPeriodSet and MinJurorStakeSet", async function () {
      const { token, admin } = await loadFixture(deployFixture);
      const sm = await ethers.deployContract("StakeManager", [await token.getAddress(), admin.address, PERIOD, MIN, EPOCH, WINDOW]);
      const tx = sm.deploymentTransaction();
      await expect(tx).to.emit(sm, "UnbondingPeriodSet").withArgs(0, PERIOD);
      await expect(tx).to.emit(sm, "MinJurorStakeSet").withArgs(0, MIN);
    });

    it("rejects a zero token or admin, bad epochs and out-of-bounds parameters", async function () {
      const { sm, token, admin } = await loadFixture(deployFixture);
      const factory = await ethers.getContractFactory("StakeManager");
      const t = await token.getAddress();
      const a = admin.address;
      await expect(factory.deploy(ethers.ZeroAddress, a, PERIOD, MIN, EPOCH, WINDOW)).to.be.revertedWithCustomError(
        sm,
        "StakeManagerZeroAddress",
      );
      await expect(factory.deploy(t, ethers.ZeroAddress, PERIOD, MIN, EPOCH, WINDOW)).to.be.revertedWithCustomError(
        sm,
        "StakeManagerZeroAddress",
      );
      // epochLength < MIN_EPOCH_LENGTH; drawWindow 0; 2·drawWindow > epochLength.
      await expect(factory.deploy(t, a, PERIOD, MIN, 59, 1))
        .to.be.revertedWithCustomError(sm, "StakeManagerInvalidEpochs")
        .withArgs(59, 1);
      await expect(factory.deploy(t, a, PERIOD, MIN, 60, 0))
        .to.be.revertedWithCustomError(sm, "StakeManagerInvalidEpochs")
        .withArgs(60, 0);
      await expect(factory.deploy(t, a, PERIOD, MIN, 60, 31))
        .to.be.revertedWithCustomError(sm, "StakeManagerInvalidEpochs")
        .withArgs(60, 31);
      await expect(factory.deploy(t, a, PERIOD, MIN, 2n ** 64n - 1n, 2n ** 63n)).to.be.revertedWithCustomError(
        sm,
        "StakeManagerInvalidEpochs",
      );
      // The boundaries are accepted: epochLength = 60, 2·drawWindow = epochLength.
      const edge = await factory.deploy(t, a, PERIOD, MIN, 60, 30);
      expect([await edge.epochLength(), await edge.drawWindow()]).to.deep.equal([60n, 30n]);
      await expect(factory.deploy(t, a, 3_599, MIN, EPOCH, WINDOW))
        .to.be.revertedWithCustomError(sm, "StakeManagerInvalidUnbondingPeriod")
        .withArgs(3_599, 3_600, 90 * 86_400);
      await expect(factory.deploy(t, a, PERIOD, 0, EPOCH, WINDOW))
        .to.be.revertedWithCustomError(sm, "StakeManagerInvalidMinJurorStake")
        .withArgs(0);
    });
  });

  describe("epochs and scheduleDraw", function () {
    it("epochOf / epochStart / currentEpoch count whole epochs from genesis", async function () {
      const { sm } = await loadFixture(deployFixture);
      const g = await sm.genesis();
      expect(await sm.epochStart(0)).to.equal(g);
      expect(await sm.epochStart(3)).to.equal(g + 3n * EPOCH);
      expect(await sm.epochOf(g)).to.equal(0n);
      expect(await sm.epochOf(g + EPOCH - 1n)).to.equal(0n);
      expect(await sm.epochOf(g + EPOCH)).to.equal(1n);
      expect(await sm.epochOf(g + 5n * EPOCH + 7n)).to.equal(5n);
      await time.increaseTo(g + EPOCH - 1n);
      expect(await sm.currentEpoch()).to.equal(0n);
      await time.increaseTo(g + EPOCH);
      expect(await sm.currentEpoch()).to.equal(1n);
    });

    it("scheduleDraw on a settled queue: this epoch and clock + delay while at least drawWindow is left (exactly drawWindow included), else the next epoch and no target", async function () {
      const { sm, module } = await loadFixture(deployFixture);
      const e1 = await sm.epochStart(1);
      const e2 = await sm.epochStart(2);
      // Calls run at the latest block's time.
      await time.increaseTo(e1 - WINDOW); // exactly drawWindow left
      expect(await sm.connect(module).scheduleDraw.staticCall(100, 5)).to.deep.equal([0n, 105n]);
      await time.increaseTo(e1 - WINDOW + 1n); // one second less
      expect(await sm.connect(module).scheduleDraw.staticCall(100, 5)).to.deep.equal([1n, 0n]);
      await time.increaseTo(e1 - 1n);
      expect(await sm.connect(module).scheduleDraw.staticCall(100, 5)).to.deep.equal([1n, 0n]);
      await time.increaseTo(e1); // the first second of an epoch belongs to it
      expect(await sm.connect(module).scheduleDraw.staticCall(200, 2)).to.deep.equal([1n, 202n]);
      await time.increaseTo(e2 - WINDOW);
      expect(await sm.connect(module).scheduleDraw.staticCall(7, 0)).to.deep.equal([1n, 7n]);
      await time.increaseTo(e2 - WINDOW + 1n);
      expect(await sm.connect(module).scheduleDraw.staticCall(7, 0)).to.deep.equal([2n, 0n]);
      // As a transaction: nothing to apply, nothing emitted, nothing queued.
      const receipt = await (await sm.connect(module).scheduleDraw(7, 0)).wait();
      expect(receipt!.logs.length).to.equal(0);
      expect(await sm.queueLength()).to.equal(0n);
    });

    it("scheduleDraw applies the due changes first (FIFO) and sets the target in the same call when they fit in MAX_APPLY", async function () {
      const { sm, module, alice, bob } = await loadFixture(deployFixture);
      await sm.connect(bob).stakeForJury(300n);
      await sm.connect(alice).stakeForJury(200n);
      await toNextEpoch(sm);
      expect(await sm.queueSettled()).to.equal(false);
      expect(await sm.connect(module).scheduleDraw.staticCall(50, 3)).to.deep.equal([1n, 53n]);
      const tx = sm.connect(module).scheduleDraw(50, 3);
      await expect(tx)
        .to.emit(sm, "ReserveChangeApplied")
        .withArgs(bob.address, 1n, 300n, 300n)
        .and.to.emit(sm, "ReserveChangeApplied")
        .withArgs(alice.address, 1n, 200n, 200n);
      const logs = (await (await tx).wait())!.logs.map((l) => sm.interface.parseLog(l)!.args[0]);
      expect(logs).to.deep.equal([bob.address, alice.address]); // oldest first
      expect(await sm.queueSettled()).to.equal(true);
      expect(await sm.queueLength()).to.equal(0n);
      expect(await sm.totalJurorWeight()).to.equal(500n);
    });

    it("scheduleDraw with more than MAX_APPLY changes due: applies MAX_APPLY, returns (this epoch, 0); a later call sets the target; draws revert until then", async function () {
      const { sm, token, module, carol } = await loadFixture(jurorFixture);
      const maxApply = Number(await sm.MAX_APPLY());
      // MAX_APPLY + 1 accounts join in epoch 1 (due at epoch 2).
      for (let i = 0; i <= maxApply; ++i) {
        const w = new ethers.Wallet(ethers.id(`backlog-${i}`), ethers.provider);
        await setBalance(w.address, 10n ** 18n);
        await token.mint(w.address, MIN);
        await token.connect(w).approve(await sm.getAddress(), MIN);
        await sm.connect(w).stakeForJury(MIN);
      }
      await sm.connect(carol).leaveJury(700n); // and carol leaves: the (MAX_APPLY + 2)th entry
      expect(await sm.queueLength()).to.equal(BigInt(maxApply + 2));
      // Still settled in epoch 1 (the entries are for epoch 2): draws run, schedules get a target.
      await sm.connect(module).drawAccounts.staticCall(SEED, 1, []);
      expect((await sm.connect(module).scheduleDraw.staticCall(9, 1))[1]).to.equal(10n);
      await toNextEpoch(sm);
      expect(await sm.queueSettled()).to.equal(false);
      // A draw never applies the queue itself: it reverts while anything is due.
      await expect(sm.connect(module).drawSeats(SEED, 3, 10n, LOCK_A, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerQueueBacklog")
        .withArgs(maxApply + 2);
      await expect(sm.connect(module).drawAccounts(SEED, 3, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerQueueBacklog")
        .withArgs(maxApply + 2);
      // First scheduleDraw: MAX_APPLY applied, two still due, no target.
      expect(await sm.connect(module).scheduleDraw.staticCall(9, 1)).to.deep.equal([2n, 0n]);
      await sm.connect(module).scheduleDraw(9, 1);
      expect(await sm.queueLength()).to.equal(2n);
      expect(await sm.queueSettled()).to.equal(false);
      expect(await sm.jurorWeight(carol.address)).to.equal(700n); // not applied yet
      await expect(sm.connect(module).drawAccounts(SEED, 3, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerQueueBacklog")
        .withArgs(2);
      // The next call applies the rest and sets the target.
      expect(await sm.connect(module).scheduleDraw.staticCall(9, 1)).to.deep.equal([2n, 10n]);
      await expect(sm.connect(module).scheduleDraw(9, 1)).to.emit(sm, "ReserveChangeApplied").withArgs(carol.address, 2n, 0n, 0n);
      expect(await sm.queueSettled()).to.equal(true);
      expect(await sm.totalJurorWeight()).to.equal(300n + BigInt(maxApply + 1) * MIN);
      await expect(sm.connect(module).drawSeats(SEED, 3, 10n, LOCK_A, [])).to.emit(sm, "SeatsDrawn");
    });

    it("scheduleDraw in the last drawWindow applies the due changes and defers to the next epoch", async function () {
      const { sm, module, alice } = await loadFixture(deployFixture);
      await sm.connect(alice).stakeForJury(200n);
      await time.increaseTo((await sm.epochStart(2)) - 10n); // epoch 1, 10 s left; alice due, not applied
      expect(await sm.queueSettled()).to.equal(false);
      expect(await sm.connect(module).scheduleDraw.staticCall(1, 1)).to.deep.equal([2n, 0n]);
      await expect(sm.connect(module).scheduleDraw(1, 1)).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 1n, 200n, 200n);
      expect(await sm.queueSettled()).to.equal(true);
    });

    it("scheduleDraw reverts for a caller without MODULE_ROLE", async function () {
      const { sm, outsider, MODULE_ROLE } = await loadFixture(deployFixture);
      await expect(sm.connect(outsider).scheduleDraw(1, 1))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, MODULE_ROLE);
    });
  });

  describe("stake", function () {
    it("pulls the tokens into free stake and emits Staked; free stake gives no draw weight", async function () {
      const { sm, token, alice } = await loadFixture(deployFixture);
      const tx = await sm.connect(alice).stake(150n);
      await expect(tx).to.emit(sm, "Staked").withArgs(alice.address, 150n, 150n);
      await expect(tx).to.changeTokenBalances(token, [alice, sm], [-150n, 150n]);
      await expect(sm.connect(alice).stake(50n)).to.emit(sm, "Staked").withArgs(alice.address, 50n, 200n);
      expect((await sm.account(alice.address)).free).to.equal(200n);
      await enterNextEpoch(sm);
      expect(await sm.jurorWeight(alice.address)).to.equal(0n);
      expect(await sm.totalJurorWeight()).to.equal(0n);
      expect(await sm.queueLength()).to.equal(0n);
    });

    it("reverts a zero amount with StakeManagerZeroAmount", async function () {
      const { sm, alice } = await loadFixture(deployFixture);
      await expect(sm.connect(alice).stake(0)).to.be.revertedWithCustomError(sm, "StakeManagerZeroAmount");
    });

    it("reverts without allowance (the token's error)", async function () {
      const { sm, token, outsider } = await loadFixture(deployFixture);
      await token.mint(outsider.address, 10n);
      await expect(sm.connect(outsider).stake(10n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(await sm.getAddress(), 0, 10n);
    });
  });

  describe("128-bit amounts (issue 17: free and locked share a slot, a lock is one slot)", function () {
    const MAX128 = 2n ** 128n - 1n;

    it("a whale cannot stake past 2^128 − 1 held tokens and truncate its free stake (StakeManagerHoldingsTooLarge)", async function () {
      const { sm, token, alice, bob } = await loadFixture(deployFixture);
      await token.mint(alice.address, 2n ** 130n);
      await token.mint(bob.address, 2n ** 130n);
      // One amount beyond 128 bits is refused before any effect, by name; the reported holdings
      // saturate at 2^256 − 1 rather than overflow.
      await expect(sm.connect(alice).stake(2n ** 128n))
        .to.be.revertedWithCustomError(sm, "StakeManagerHoldingsTooLarge")
        .withArgs(2n ** 128n, MAX128);
      await expect(sm.connect(alice).stake(ethers.MaxUint256))
        .to.be.revertedWithCustomError(sm, "StakeManagerHoldingsTooLarge")
        .withArgs(ethers.MaxUint256, MAX128);
      await sm.connect(alice).stake(MAX128 - 1n);
      // Split over accounts, and through the juror reserve (a leave or an apply later moves the
      // reserve into the 128-bit free stake), the holdings bound still holds.
      await expect(sm.connect(bob).stake(2n))
        .to.be.revertedWithCustomError(sm, "StakeManagerHoldingsTooLarge")
        .withArgs(MAX128 + 1n, MAX128);
      await expect(sm.connect(bob).stakeForJury(2n))
        .to.be.revertedWithCustomError(sm, "StakeManagerHoldingsTooLarge")
        .withArgs(MAX128 + 1n, MAX128);
      await sm.connect(bob).stakeForJury(1n);
      expect(await token.balanceOf(await sm.getAddress())).to.equal(MAX128);
      expect((await sm.account(alice.address)).free).to.equal(MAX128 - 1n);
      // Tokens sent straight to the contract (no stake) past the bound: every deposit is refused.
      await token.connect(bob).transfer(await sm.getAddress(), 1n);
      await expect(sm.connect(bob).stake(1n))
        .to.be.revertedWithCustomError(sm, "StakeManagerHoldingsTooLarge")
        .withArgs(MAX128 + 2n, MAX128);
    });

    it("lock, unlock and slash keep free + locked exact at the 128-bit bound (no truncation in the shared slot)", async function () {
      const { sm, token, module, alice, outsider } = await loadFixture(deployFixture);
      const held = await token.balanceOf(await sm.getAddress());
      const big = MAX128 - held;
      await token.mint(alice.address, big);
      await sm.connect(alice).stake(big);
      expect((await sm.account(alice.address)).free).to.equal(big);
      await sm.connect(module).lock(alice.address, LOCK_A, big - 1n);
      await sm.connect(module).lock(alice.address, LOCK_B, 1n);
      let acc = await sm.account(alice.address);
      expect([acc.free, acc.locked]).to.deep.equal([0n, big]);
      expect(await sm.lockedAmount(alice.address, LOCK_A)).to.equal(big - 1n);
      await sm.connect(module).slash(alice.address, LOCK_A, big - 2n, outsider.address);
      acc = await sm.account(alice.address);
      expect([acc.free, acc.locked]).to.deep.equal([0n, 2n]);
      expect(await sm.lockedAmount(alice.address, LOCK_A)).to.equal(1n);
      await sm.connect(module).unlock(alice.address, LOCK_A);
      await sm.connect(module).unlock(alice.address, LOCK_B);
      acc = await sm.account(alice.address);
      expect([acc.free, acc.locked]).to.deep.equal([2n, 0n]);
      expect(await token.balanceOf(outsider.address)).to.equal(big - 2n);
    });

    it("the juror reserve at the 128-bit bound: join, apply, seat, slash and leave stay exact with reserve and seatLocked in one slot", async function () {
      const { sm, token, module, alice, outsider } = await loadFixture(deployFixture);
      const held = await token.balanceOf(await sm.getAddress());
      const big = MAX128 - held;
      await token.mint(alice.address, big + 1n);
      await expect(sm.connect(alice).stakeForJury(2n ** 128n))
        .to.be.revertedWithCustomError(sm, "StakeManagerHoldingsTooLarge")
        .withArgs(held + 2n ** 128n, MAX128);
      await sm.connect(alice).stakeForJury(big);
      // Held = 2^128 − 1 and pendingJoin at its full width: one more token is refused by name
      // before pendingJoin could overflow its 128 bits.
      await expect(sm.connect(alice).stakeForJury(1n))
        .to.be.revertedWithCustomError(sm, "StakeManagerHoldingsTooLarge")
        .withArgs(MAX128 + 1n, MAX128);
      await toNextEpoch(sm);
      await sm.applyQueued(10);
      expect(await sm.jurorWeight(alice.address)).to.equal(big);
      // Two seats of big/2 each, so seatLocked reaches the reserve's full width beside it.
      const perSeat = big / 2n;
      await sm.connect(module).drawSeats(SEED, 2, perSeat, LOCK_A, []);
      let acc = await sm.account(alice.address);
      expect([acc.reserve, acc.seatLocked]).to.deep.equal([big, 2n * perSeat]);
      await sm.connect(module).slash(alice.address, LOCK_A, perSeat, outsider.address);
      acc = await sm.account(alice.address);
      expect([acc.reserve, acc.seatLocked]).to.deep.equal([big - perSeat, perSeat]);
      await sm.connect(alice).leaveJury(big - perSeat);
      await sm.connect(module).unlock(alice.address, LOCK_A);
      await toNextEpoch(sm);
      await sm.applyQueued(10);
      acc = await sm.account(alice.address);
      expect([acc.reserve, acc.seatLocked, acc.pendingLeave, acc.free]).to.deep.equal([0n, 0n, 0n, big - perSeat]);
      expect(await token.balanceOf(outsider.address)).to.equal(perSeat);
    });
  });

  describe("stakeForJury", function () {
    it("pulls the tokens into pendingJoin and queues them for the next epoch; weight only from then on", async function () {
      const { sm, token, alice } = await loadFixture(deployFixture);
      await sm.connect(alice).stake(40n);
      const tx = await sm.connect(alice).stakeForJury(150n);
      await expect(tx).to.emit(sm, "Staked").withArgs(alice.address, 150n, 40n);
      await expect(tx).to.emit(sm, "ReserveChangeQueued").withArgs(alice.address, 1n, 150n, 0n);
      await expect(tx).to.changeTokenBalances(token, [alice, sm], [-150n, 150n]);
      const acc = await sm.account(alice.address);
      expect([acc.free, acc.pendingJoin, acc.reserve, acc.pendingEpoch]).to.deep.equal([40n, 150n, 0n, 1n]);
      expect(await sm.queueLength()).to.equal(1n);
      expect(await sm.queueSettled()).to.equal(true); // not due yet
      expect(await sm.jurorWeight(alice.address)).to.equal(0n);

      await toNextEpoch(sm);
      expect(await sm.queueSettled()).to.equal(false);
      expect(await sm.jurorWeight(alice.address)).to.equal(0n); // due, not applied yet
      await expect(sm.applyQueued(10)).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 1n, 150n, 150n);
      const after = await sm.account(alice.address);
      expect([after.free, after.pendingJoin, after.reserve, after.pendingEpoch]).to.deep.equal([40n, 0n, 150n, 0n]);
      expect(await sm.jurorWeight(alice.address)).to.equal(150n);
      expect(await sm.totalJurorWeight()).to.equal(150n);
      expect(await sm.queueSettled()).to.equal(true);
      expect(await sm.queueLength()).to.equal(0n);
    });

    it("reverts a zero amount and a missing allowance", async function () {
      const { sm, token, alice, outsider } = await loadFixture(deployFixture);
      await expect(sm.connect(alice).stakeForJury(0)).to.be.revertedWithCustomError(sm, "StakeManagerZeroAmount");
      await token.mint(outsider.address, 10n);
      await expect(sm.connect(outsider).stakeForJury(10n)).to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance");
    });
  });

  describe("joinJury", function () {
    it("moves free stake into pendingJoin and queues it", async function () {
      const { sm, alice } = await loadFixture(deployFixture);
      await sm.connect(alice).stake(500n);
      await expect(sm.connect(alice).joinJury(300n)).to.emit(sm, "ReserveChangeQueued").withArgs(alice.address, 1n, 300n, 0n);
      const acc = await sm.account(alice.address);
      expect([acc.free, acc.pendingJoin]).to.deep.equal([200n, 300n]);
      await enterNextEpoch(sm);
      expect(await sm.jurorWeight(alice.address)).to.equal(300n);
      expect((await sm.account(alice.address)).reserve).to.equal(300n);
    });

    it("reverts a zero amount and more than the free stake", async function () {
      const { sm, alice } = await loadFixture(deployFixture);
      await sm.connect(alice).stake(100n);
      await expect(sm.connect(alice).joinJury(0)).to.be.revertedWithCustomError(sm, "StakeManagerZeroAmount");
      await expect(sm.connect(alice).joinJury(101n))
        .to.be.revertedWithCustomError(sm, "StakeManagerInsufficientFreeStake")
        .withArgs(alice.address, 100n, 101n);
    });
  });

  describe("leaveJury", function () {
    it("takes from a queued join first (at once, to free stake), the rest from the reserve at the next epoch", async function () {
      const { sm, alice } = await loadFixture(jurorFixture); // alice: reserve 100, free 1000
      await sm.connect(alice).stakeForJury(50n); // pendingJoin 50 for epoch 2
      // 30 < pendingJoin: all from the join.
      await expect(sm.connect(alice).leaveJury(30n)).to.emit(sm, "ReserveChangeQueued").withArgs(alice.address, 2n, 20n, 0n);
      let acc = await sm.account(alice.address);
      expect([acc.free, acc.pendingJoin, acc.pendingLeave, acc.reserve]).to.deep.equal([1030n, 20n, 0n, 100n]);
      // 50 ≥ pendingJoin 20: 20 from the join, 30 queued to leave.
      await expect(sm.connect(alice).leaveJury(50n)).to.emit(sm, "ReserveChangeQueued").withArgs(alice.address, 2n, 0n, 30n);
      acc = await sm.account(alice.address);
      expect([acc.free, acc.pendingJoin, acc.pendingLeave, acc.reserve]).to.deep.equal([1050n, 0n, 30n, 100n]);
      expect(await sm.jurorWeight(alice.address)).to.equal(100n); // unchanged in this epoch
      expect(await sm.queueLength()).to.equal(1n); // one entry for both changes
      await toNextEpoch(sm);
      await expect(sm.applyQueued(5)).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 2n, 70n, 0n); // 70 < MIN
      acc = await sm.account(alice.address);
      expect([acc.free, acc.reserve, acc.pendingLeave, acc.pendingEpoch]).to.deep.equal([1080n, 70n, 0n, 0n]);
      expect(await sm.jurorWeight(alice.address)).to.equal(0n);
      expect(await sm.totalJurorWeight()).to.equal(900n);
    });

    it("reverts a zero amount and more than pendingJoin + reserve − pendingLeave", async function () {
      const { sm, bob } = await loadFixture(jurorFixture); // reserve 200
      await expect(sm.connect(bob).leaveJury(0)).to.be.revertedWithCustomError(sm, "StakeManagerZeroAmount");
      await sm.connect(bob).joinJury(10n);
      await expect(sm.connect(bob).leaveJury(211n))
        .to.be.revertedWithCustomError(sm, "StakeManagerInsufficientReserve")
        .withArgs(bob.address, 210n, 211n);
      await sm.connect(bob).leaveJury(150n); // 10 from the join, 140 queued
      await expect(sm.connect(bob).leaveJury(61n))
        .to.be.revertedWithCustomError(sm, "StakeManagerInsufficientReserve")
        .withArgs(bob.address, 60n, 61n);
      await sm.connect(bob).leaveJury(60n);
      expect((await sm.account(bob.address)).pendingLeave).to.equal(200n);
    });

    it("is capped at apply by the seat locks; the part that cannot leave stays in the reserve and the leave is dropped", async function () {
      const { sm, module, carol } = await loadFixture(deployFixture);
      await sm.connect(carol).stakeForJury(400n);
      await enterNextEpoch(sm);
      // Only carol in the pool: 3 seats of 100 lock 300 of her 400.
      await sm.connect(module).drawSeats(SEED, 3, 100n, LOCK_A, []);
      expect((await sm.account(carol.address)).seatLocked).to.equal(300n);
      await sm.connect(carol).leaveJury(400n); // allowed when asked (seat locks are checked at apply)
      await toNextEpoch(sm);
      await expect(sm.applyQueued(1)).to.emit(sm, "ReserveChangeApplied").withArgs(carol.address, 2n, 300n, 300n);
      const acc = await sm.account(carol.address);
      expect([acc.free, acc.reserve, acc.seatLocked, acc.pendingLeave]).to.deep.equal([100n, 300n, 300n, 0n]);
      expect(await sm.jurorWeight(carol.address)).to.equal(300n);
    });
  });

  describe("requestUnstake", function () {
    it("moves free stake to the unbonding bucket, sets the release time and emits UnstakeRequested", async function () {
      const { sm, alice } = await loadFixture(jurorFixture);
      const tx = await sm.connect(alice).requestUnstake(40n);
      const releaseAt = BigInt(await time.latest()) + PERIOD;
      await expect(tx).to.emit(sm, "UnstakeRequested").withArgs(alice.address, 40n, 40n, releaseAt);
      const acc = await sm.account(alice.address);
      expect([acc.free, acc.unbonding, acc.unbondingReleaseAt, acc.reserve]).to.deep.equal([960n, 40n, releaseAt, 100n]);
      expect(await sm.jurorWeight(alice.address)).to.equal(100n); // the reserve is not free stake
    });

    it("adds a second request to the same bucket and restarts its timer", async function () {
      const { sm, carol } = await loadFixture(jurorFixture);
      await sm.connect(carol).requestUnstake(100n);
      await time.increase(PERIOD / 2n);
      const tx = await sm.connect(carol).requestUnstake(50n);
      const releaseAt = BigInt(await time.latest()) + PERIOD;
      await expect(tx).to.emit(sm, "UnstakeRequested").withArgs(carol.address, 50n, 150n, releaseAt);
      expect((await sm.account(carol.address)).unbondingReleaseAt).to.equal(releaseAt);
    });

    it("reverts a zero amount and more than the free stake (neither locks nor the reserve can be unbonded)", async function () {
      const { sm, module, bob } = await loadFixture(jurorFixture); // free 1000, reserve 200
      await expect(sm.connect(bob).requestUnstake(0)).to.be.revertedWithCustomError(sm, "StakeManagerZeroAmount");
      await sm.connect(module).lock(bob.address, LOCK_A, 950n);
      await expect(sm.connect(bob).requestUnstake(51n))
        .to.be.revertedWithCustomError(sm, "StakeManagerInsufficientFreeStake")
        .withArgs(bob.address, 50n, 51n);
      await expect(sm.connect(bob).requestUnstake(50n)).to.emit(sm, "UnstakeRequested");
    });
  });

  describe("withdraw", function () {
    it("reverts with StakeManagerNothingToWithdraw when the bucket is empty", async function () {
      const { sm, alice } = await loadFixture(jurorFixture);
      await expect(sm.connect(alice).withdraw()).to.be.revertedWithCustomError(sm, "StakeManagerNothingToWithdraw").withArgs(alice.address);
    });

    it("reverts with StakeManagerUnbondingNotOver before the release time, also after a restart", async function () {
      const { sm, bob } = await loadFixture(jurorFixture);
      await sm.connect(bob).requestUnstake(10n);
      let releaseAt = (await sm.account(bob.address)).unbondingReleaseAt;
      await expect(sm.connect(bob).withdraw())
        .to.be.revertedWithCustomError(sm, "StakeManagerUnbondingNotOver")
        .withArgs(bob.address, releaseAt);
      await time.increase(PERIOD - 100n);
      await sm.connect(bob).requestUnstake(10n);
      await time.increase(200n);
      releaseAt = (await sm.account(bob.address)).unbondingReleaseAt;
      await expect(sm.connect(bob).withdraw())
        .to.be.revertedWithCustomError(sm, "StakeManagerUnbondingNotOver")
        .withArgs(bob.address, releaseAt);
    });

    it("sends the whole bucket once the period has passed and emits Withdrawn", async function () {
      const { sm, token, bob } = await loadFixture(jurorFixture);
      await sm.connect(bob).requestUnstake(30n);
      await sm.connect(bob).requestUnstake(20n);
      await time.increaseTo((await sm.account(bob.address)).unbondingReleaseAt);
      const tx = await sm.connect(bob).withdraw();
      await expect(tx).to.emit(sm, "Withdrawn").withArgs(bob.address, 50n);
      await expect(tx).to.changeTokenBalances(token, [bob, sm], [50n, -50n]);
      const acc = await sm.account(bob.address);
      expect([acc.free, acc.unbonding, acc.unbondingReleaseAt]).to.deep.equal([950n, 0n, 0n]);
      await expect(sm.connect(bob).withdraw()).to.be.revertedWithCustomError(sm, "StakeManagerNothingToWithdraw");
    });
  });

  describe("the reserve queue", function () {
    it("applies a change made in epoch e at the start of e+1, not a second earlier", async function () {
      const { sm, alice } = await loadFixture(deployFixture);
      await sm.connect(alice).stakeForJury(200n);
      const e1 = await sm.epochStart(1);
      await time.increaseTo(e1 - 2n);
      expect(await sm.queueSettled()).to.equal(true);
      expect(await sm.applyQueued.staticCall(10)).to.equal(0n);
      await time.setNextBlockTimestamp(e1 - 1n); // the last second of epoch 0
      await expect(sm.applyQueued(10)).not.to.emit(sm, "ReserveChangeApplied");
      expect(await sm.jurorWeight(alice.address)).to.equal(0n);
      expect(await sm.queueSettled()).to.equal(true);
      await time.increaseTo(e1);
      expect(await sm.queueSettled()).to.equal(false);
      expect(await sm.applyQueued.staticCall(10)).to.equal(1n);
      await expect(sm.applyQueued(10)).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 1n, 200n, 200n);
      expect(await sm.jurorWeight(alice.address)).to.equal(200n);
    });

    it("merges two changes of one account in one epoch into one entry", async function () {
      const { sm, alice } = await loadFixture(deployFixture);
      await sm.connect(alice).stake(100n);
      await sm.connect(alice).stakeForJury(200n);
      await expect(sm.connect(alice).joinJury(100n)).to.emit(sm, "ReserveChangeQueued").withArgs(alice.address, 1n, 300n, 0n);
      expect(await sm.queueLength()).to.equal(1n);
      await toNextEpoch(sm);
      const tx = sm.applyQueued(10);
      await expect(tx).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 1n, 300n, 300n);
      const receipt = await (await tx).wait();
      expect(receipt!.logs.length).to.equal(1);
    });

    it("applies a due change first when the account queues a new one, leaving a stale entry that later applies nothing", async function () {
      const { sm, alice, bob } = await loadFixture(deployFixture);
      await sm.connect(bob).stakeForJury(500n);
      await sm.connect(alice).stakeForJury(100n);
      await toNextEpoch(sm); // epoch 1: both due, nothing applied
      const tx = await sm.connect(alice).stakeForJury(50n);
      // The due change (epoch 1) applies in this very call, before the new one (epoch 2) is queued.
      await expect(tx).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 1n, 100n, 100n);
      await expect(tx).to.emit(sm, "ReserveChangeQueued").withArgs(alice.address, 2n, 50n, 0n);
      expect(await sm.jurorWeight(alice.address)).to.equal(100n);
      expect(await sm.queueLength()).to.equal(3n); // bob@1, alice@1 (stale), alice@2
      // bob's entry applies; alice's stale entry is processed without effect; alice@2 is not due.
      const apply = sm.applyQueued(10);
      expect(await sm.applyQueued.staticCall(10)).to.equal(2n);
      await expect(apply).to.emit(sm, "ReserveChangeApplied").withArgs(bob.address, 1n, 500n, 500n);
      expect((await (await apply).wait())!.logs.length).to.equal(1);
      expect(await sm.queueLength()).to.equal(1n);
      expect(await sm.queueSettled()).to.equal(true);
      expect((await sm.account(alice.address)).pendingEpoch).to.equal(2n);
      await toNextEpoch(sm);
      await expect(sm.applyQueued(10)).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 2n, 150n, 150n);
      expect(await sm.totalJurorWeight()).to.equal(650n);
    });

    it("applyQueued processes at most maxCount entries, oldest first, and anyone may call it", async function () {
      const { sm, outsider, alice, bob, carol } = await loadFixture(deployFixture);
      for (const s of [alice, bob, carol]) await sm.connect(s).stakeForJury(100n);
      await toNextEpoch(sm);
      expect(await sm.connect(outsider).applyQueued.staticCall(0)).to.equal(0n);
      await expect(sm.connect(outsider).applyQueued(2))
        .to.emit(sm, "ReserveChangeApplied")
        .withArgs(alice.address, 1n, 100n, 100n)
        .and.to.emit(sm, "ReserveChangeApplied")
        .withArgs(bob.address, 1n, 100n, 100n);
      expect(await sm.jurorWeight(carol.address)).to.equal(0n);
      expect(await sm.queueLength()).to.equal(1n);
      expect(await sm.queueSettled()).to.equal(false);
      await sm.connect(outsider).applyQueued(2);
      expect(await sm.jurorWeight(carol.address)).to.equal(100n);
      expect(await sm.connect(outsider).applyQueued.staticCall(5)).to.equal(0n); // empty queue
    });

    it("gives weight only at or above minJurorStake, checked when a change applies", async function () {
      const { sm, alice } = await loadFixture(deployFixture);
      await sm.connect(alice).stakeForJury(MIN - 1n);
      await toNextEpoch(sm);
      await expect(sm.applyQueued(1))
        .to.emit(sm, "ReserveChangeApplied")
        .withArgs(alice.address, 1n, MIN - 1n, 0n);
      expect(await sm.jurorWeight(alice.address)).to.equal(0n);
      expect((await sm.account(alice.address)).reserve).to.equal(MIN - 1n);
      await sm.connect(alice).stakeForJury(1n);
      await toNextEpoch(sm);
      await expect(sm.applyQueued(1)).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 2n, MIN, MIN);
      expect(await sm.totalJurorWeight()).to.equal(MIN);
    });

    it("a draw never applies the queue itself: it reverts with StakeManagerQueueBacklog while a change is due, and runs once applyQueued settles it", async function () {
      const { sm, module, outsider, dave } = await loadFixture(jurorFixture);
      await sm.connect(dave).stakeForJury(500n);
      await sm.connect(module).drawAccounts.staticCall(SEED, 1, []); // not due yet: settled
      await toNextEpoch(sm);
      await expect(sm.connect(module).drawSeats(SEED, 3, 10n, LOCK_A, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerQueueBacklog")
        .withArgs(1);
      await expect(sm.connect(module).drawAccounts(SEED, 3, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerQueueBacklog")
        .withArgs(1);
      expect(await sm.queueLength()).to.equal(1n);
      await sm.connect(outsider).applyQueued(1);
      await expect(sm.connect(module).drawSeats(SEED, 3, 10n, LOCK_A, [])).to.emit(sm, "SeatsDrawn");
      expect(await sm.jurorWeight(dave.address)).to.equal(500n);
    });

    it("syncJurorWeight queues a recomputation after a minJurorStake change; weights follow at the next epoch", async function () {
      const { sm, admin, outsider, alice, bob } = await loadFixture(jurorFixture);
      await expect(sm.connect(admin).setMinJurorStake(150n)).to.emit(sm, "MinJurorStakeSet").withArgs(MIN, 150n);
      expect(await sm.jurorWeight(alice.address)).to.equal(100n); // stale until a change applies
      await expect(sm.connect(outsider).syncJurorWeight(alice.address))
        .to.emit(sm, "ReserveChangeQueued")
        .withArgs(alice.address, 2n, 0n, 0n);
      // bob's weight (200 ≥ 150) would not change: nothing queued.
      await expect(sm.connect(outsider).syncJurorWeight(bob.address)).not.to.emit(sm, "ReserveChangeQueued");
      expect(await sm.queueLength()).to.equal(1n);
      expect(await sm.jurorWeight(alice.address)).to.equal(100n);
      await toNextEpoch(sm);
      const tx = sm.applyQueued(10);
      await expect(tx).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 2n, 100n, 0n);
      expect((await (await tx).wait())!.logs.length).to.equal(1);
      expect(await sm.jurorWeight(alice.address)).to.equal(0n);
      expect(await sm.totalJurorWeight()).to.equal(900n);
      // Lowered again: alice's weight would come back, so her sync queues.
      await sm.connect(admin).setMinJurorStake(50n);
      await expect(sm.connect(outsider).syncJurorWeight(alice.address))
        .to.emit(sm, "ReserveChangeQueued")
        .withArgs(alice.address, 3n, 0n, 0n);
    });

    it("syncJurorWeight does nothing (no event, no entry) when nothing is queued for the account and its weight would not change", async function () {
      const { sm, outsider, alice, bob, carol } = await loadFixture(jurorFixture);
      for (const who of [
        alice.address,
        bob.address,
        carol.address,
        outsider.address,
        ethers.ZeroAddress,
        ethers.Wallet.createRandom().address,
      ]) {
        const receipt = await (await sm.connect(outsider).syncJurorWeight(who)).wait();
        expect(receipt!.logs.length, who).to.equal(0);
      }
      expect(await sm.queueLength()).to.equal(0n);
      // Something queued for the account: the sync re-announces it without a second entry.
      await sm.connect(bob).joinJury(10n);
      await expect(sm.connect(outsider).syncJurorWeight(bob.address)).to.emit(sm, "ReserveChangeQueued").withArgs(bob.address, 2n, 10n, 0n);
      expect(await sm.queueLength()).to.equal(1n);
      // Due in the next epoch: the sync applies it (its own account only) and then has nothing to queue.
      await toNextEpoch(sm);
      const tx = sm.connect(outsider).syncJurorWeight(bob.address);
      await expect(tx).to.emit(sm, "ReserveChangeApplied").withArgs(bob.address, 2n, 210n, 210n);
      await expect(tx).not.to.emit(sm, "ReserveChangeQueued");
      expect((await sm.account(bob.address)).pendingEpoch).to.equal(0n);
      expect(await sm.queueLength()).to.equal(1n); // bob's entry, now stale
      await sm.applyQueued(1);
      expect(await sm.queueLength()).to.equal(0n);
      // Settled: syncing anyone now changes nothing (the tree is frozen for the epoch).
      await expect(sm.connect(outsider).syncJurorWeight(bob.address)).not.to.emit(sm, "ReserveChangeQueued");
    });
  });

  describe("lock / unlock / slash of free stake", function () {
    it("lock moves free stake into a non-juror lock and emits Locked; draw weights do not change", async function () {
      const { sm, module, carol } = await loadFixture(jurorFixture);
      await expect(sm.connect(module).lock(carol.address, LOCK_A, 300n))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_A, 300n, false);
      await sm.connect(module).lock(carol.address, LOCK_A, 100n); // adds to the same lock
      await sm.connect(module).lock(carol.address, LOCK_B, 50n);
      const acc = await sm.account(carol.address);
      expect([acc.free, acc.locked, acc.reserve, acc.seatLocked]).to.deep.equal([550n, 450n, 700n, 0n]);
      expect(await sm.lockedAmount(carol.address, LOCK_A)).to.equal(400n);
      expect(await sm.lockedAmount(carol.address, LOCK_B)).to.equal(50n);
      expect(await sm.isJurorLock(carol.address, LOCK_A)).to.equal(false);
      expect(await sm.jurorWeight(carol.address)).to.equal(700n);
      expect(await sm.totalJurorWeight()).to.equal(1000n);
      expect(await sm.queueLength()).to.equal(0n);
    });

    it("lock reverts for a caller without MODULE_ROLE, a zero amount and more than the free stake", async function () {
      const { sm, module, outsider, alice, MODULE_ROLE } = await loadFixture(jurorFixture);
      await expect(sm.connect(outsider).lock(alice.address, LOCK_A, 1n))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, MODULE_ROLE);
      await expect(sm.connect(module).lock(alice.address, LOCK_A, 0)).to.be.revertedWithCustomError(sm, "StakeManagerZeroAmount");
      // The reserve (100) is not free stake.
      await expect(sm.connect(module).lock(alice.address, LOCK_A, 1001n))
        .to.be.revertedWithCustomError(sm, "StakeManagerInsufficientFreeStake")
        .withArgs(alice.address, 1000n, 1001n);
    });

    it("unlock releases the whole lock to free stake and emits Unlocked; an empty lock returns 0 silently", async function () {
      const { sm, module, carol } = await loadFixture(jurorFixture);
      await sm.connect(module).lock(carol.address, LOCK_A, 300n);
      await sm.connect(module).lock(carol.address, LOCK_B, 100n);
      expect(await sm.connect(module).unlock.staticCall(carol.address, LOCK_A)).to.equal(300n);
      await expect(sm.connect(module).unlock(carol.address, LOCK_A)).to.emit(sm, "Unlocked").withArgs(carol.address, LOCK_A, 300n);
      const acc = await sm.account(carol.address);
      expect([acc.free, acc.locked, acc.reserve]).to.deep.equal([900n, 100n, 700n]);
      expect(await sm.lockedAmount(carol.address, LOCK_A)).to.equal(0n);
      expect(await sm.connect(module).unlock.staticCall(carol.address, LOCK_A)).to.equal(0n);
      await expect(sm.connect(module).unlock(carol.address, LOCK_A)).not.to.emit(sm, "Unlocked");
    });

    it("unlock reverts for a caller without MODULE_ROLE", async function () {
      const { sm, outsider, carol, MODULE_ROLE } = await loadFixture(jurorFixture);
      await expect(sm.connect(outsider).unlock(carol.address, LOCK_A))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, MODULE_ROLE);
    });

    it("slash takes from the named lock only, sends it to the recipient and emits Slashed; the reserve is untouched", async function () {
      const { sm, token, module, outsider, carol, stakers } = await loadFixture(jurorFixture);
      await sm.connect(module).lock(carol.address, LOCK_A, 300n);
      await sm.connect(module).lock(carol.address, LOCK_B, 100n);
      expect(await sm.connect(module).slash.staticCall(carol.address, LOCK_A, 120n, outsider.address)).to.equal(120n);
      const tx = await sm.connect(module).slash(carol.address, LOCK_A, 120n, outsider.address);
      await expect(tx).to.emit(sm, "Slashed").withArgs(carol.address, LOCK_A, 120n, outsider.address);
      await expect(tx).not.to.emit(sm, "ReserveChangeQueued");
      await expect(tx).to.changeTokenBalances(token, [outsider, sm], [120n, -120n]);
      const acc = await sm.account(carol.address);
      expect([acc.free, acc.locked, acc.reserve, acc.pendingEpoch]).to.deep.equal([600n, 280n, 700n, 0n]);
      expect(await sm.lockedAmount(carol.address, LOCK_A)).to.equal(180n);
      expect(await sm.lockedAmount(carol.address, LOCK_B)).to.equal(100n);
      await expectConservation(
        sm,
        token,
        stakers.map((s) => s.address),
      );
    });

    it("slash takes at most the lock and closes it", async function () {
      const { sm, token, module, outsider, carol } = await loadFixture(jurorFixture);
      await sm.connect(module).lock(carol.address, LOCK_A, 300n);
      const tx = await sm.connect(module).slash(carol.address, LOCK_A, 1000n, outsider.address);
      await expect(tx).to.emit(sm, "Slashed").withArgs(carol.address, LOCK_A, 300n, outsider.address);
      await expect(tx).to.changeTokenBalance(token, outsider, 300n);
      expect(await sm.lockedAmount(carol.address, LOCK_A)).to.equal(0n);
      expect((await sm.account(carol.address)).locked).to.equal(0n);
      expect(await sm.connect(module).unlock.staticCall(carol.address, LOCK_A)).to.equal(0n);
    });

    it("slash returns 0 and emits nothing for an empty lock or a zero amount", async function () {
      const { sm, module, outsider, carol } = await loadFixture(jurorFixture);
      expect(await sm.connect(module).slash.staticCall(carol.address, LOCK_A, 10n, outsider.address)).to.equal(0n);
      await expect(sm.connect(module).slash(carol.address, LOCK_A, 10n, outsider.address)).not.to.emit(sm, "Slashed");
      await sm.connect(module).lock(carol.address, LOCK_A, 300n);
      expect(await sm.connect(module).slash.staticCall(carol.address, LOCK_A, 0n, outsider.address)).to.equal(0n);
      await expect(sm.connect(module).slash(carol.address, LOCK_A, 0n, outsider.address)).not.to.emit(sm, "Slashed");
    });

    it("slash still takes a lock whose owner unbonded and withdrew all its free stake", async function () {
      const { sm, token, module, outsider, bob } = await loadFixture(jurorFixture);
      await sm.connect(module).lock(bob.address, LOCK_A, 150n);
      await sm.connect(bob).requestUnstake(850n);
      await time.increase(PERIOD);
      await sm.connect(bob).withdraw();
      await expect(sm.connect(module).slash(bob.address, LOCK_A, 150n, outsider.address)).to.changeTokenBalance(token, outsider, 150n);
    });

    it("slash reverts a zero recipient and a caller without MODULE_ROLE", async function () {
      const { sm, module, outsider, carol, MODULE_ROLE } = await loadFixture(jurorFixture);
      await expect(sm.connect(module).slash(carol.address, LOCK_A, 1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        sm,
        "StakeManagerZeroAddress",
      );
      await expect(sm.connect(outsider).slash(carol.address, LOCK_A, 1n, outsider.address))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, MODULE_ROLE);
    });
  });

  describe("drawSeats", function () {
    it("draws seats with replacement by the documented formula, locks seats·lockPerSeat per account, emits Locked and SeatsDrawn", async function () {
      const { sm, module, tree } = await loadFixture(jurorFixture);
      const expected = modelDraw(tree, SEED, 11, 10n, []);
      expect(sum(expected.seats)).to.equal(11n);
      const [accounts, seats] = await sm.connect(module).drawSeats.staticCall(SEED, 11, 10n, LOCK_A, []);
      expect(accounts).to.deep.equal(expected.accounts);
      expect(seats).to.deep.equal(expected.seats);
      // With replacement: 11 seats over 3 accounts, so someone holds several.
      expect(seats.some((s) => s > 1n)).to.equal(true);
      const tx = sm.connect(module).drawSeats(SEED, 11, 10n, LOCK_A, []);
      await expect(tx).to.emit(sm, "SeatsDrawn").withArgs(LOCK_A, SEED, 1n, expected.accounts, expected.seats);
      for (let i = 0; i < expected.accounts.length; ++i) {
        const who = expected.accounts[i];
        await expect(tx)
          .to.emit(sm, "Locked")
          .withArgs(who, LOCK_A, expected.seats[i] * 10n, true);
        const acc = await sm.account(who);
        expect(acc.seatLocked).to.equal(expected.seats[i] * 10n);
        expect(acc.locked).to.equal(0n); // seat locks are part of the reserve, not of `locked`
        expect(await sm.lockedAmount(who, LOCK_A)).to.equal(expected.seats[i] * 10n);
        expect(await sm.isJurorLock(who, LOCK_A)).to.equal(true);
      }
      // Sitting on a committee never changes weight (V3.4).
      expect(await sm.totalJurorWeight()).to.equal(1000n);
      expect(await sm.jurorWeight(expected.accounts[0])).to.equal(tree.weightOf(expected.accounts[0]));
    });

    it("gives every seat to the only account in the pool, and adds to an existing seat lock of the same id", async function () {
      const { sm, module, carol } = await loadFixture(deployFixture);
      await sm.connect(carol).stakeForJury(1000n);
      await enterNextEpoch(sm);
      const [accounts, seats] = await sm.connect(module).drawSeats.staticCall(SEED, 5, 100n, LOCK_A, []);
      expect(accounts).to.deep.equal([carol.address]);
      expect(seats).to.deep.equal([5n]);
      await sm.connect(module).drawSeats(SEED, 5, 100n, LOCK_A, []);
      await expect(sm.connect(module).drawSeats(SEED, 2, 100n, LOCK_A, []))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_A, 200n, true);
      expect(await sm.lockedAmount(carol.address, LOCK_A)).to.equal(700n);
      expect((await sm.account(carol.address)).seatLocked).to.equal(700n);
    });

    it("leaves a seat empty, without redrawing it, when the pick already holds weight / lockPerSeat seats of this draw", async function () {
      const { sm, module, tree, unlocked } = await loadFixture(jurorFixture);
      // lockPerSeat 60: alice (weight 100) may hold one seat, bob (200) three, carol (700) eleven.
      let seed: string | undefined;
      let expected: Drawn | undefined;
      for (let i = 0; i < 500 && seed === undefined; ++i) {
        const s = ethers.id(`empty-${i}`);
        const d = modelDraw(tree, s, 6, 60n, []);
        if (sum(d.seats) < 6n) [seed, expected] = [s, d];
      }
      if (seed === undefined || expected === undefined) throw new Error("no seed leaves a seat empty");
      const [accounts, seats] = await sm.connect(module).drawSeats.staticCall(seed, 6, 60n, LOCK_A, []);
      expect(accounts).to.deep.equal(expected.accounts);
      expect(seats).to.deep.equal(expected.seats);
      expect(sum(seats)).to.be.lessThan(6n);
      expect(expected.picks).to.equal(6); // one pick per seat: the empty seat was not redrawn
      const locks = modelLocks(expected, 60n, unlocked());
      const tx = sm.connect(module).drawSeats(seed, 6, 60n, LOCK_A, []);
      for (let i = 0; i < accounts.length; ++i) await expect(tx).to.emit(sm, "Locked").withArgs(accounts[i], LOCK_A, locks[i], true);
      for (const [who, r] of unlocked()) {
        const acc = await sm.account(who);
        expect(acc.seatLocked).to.be.at.most(r);
        expect(acc.seatLocked).to.equal(await sm.lockedAmount(who, LOCK_A));
      }
    });

    it("seat caps come from the frozen weight: existing seat locks neither empty a seat nor move a pick; a fully locked account sits and locks 0", async function () {
      const { sm, module, tree, alice, bob, carol } = await loadFixture(jurorFixture);
      await sm.connect(module).drawSeats(SEED, 64, 100n, LOCK_A, []); // caps: alice 1, bob 2, carol 7; all filled
      expect((await sm.account(alice.address)).seatLocked).to.equal(100n);
      expect((await sm.account(bob.address)).seatLocked).to.equal(200n);
      expect((await sm.account(carol.address)).seatLocked).to.equal(700n);
      // Every reserve is fully seat-locked now; a later draw seats exactly what the tree says.
      const later = ethers.id("later");
      const expected = modelDraw(tree, later, 10, 1n, []);
      expect(sum(expected.seats)).to.equal(10n);
      const [accounts, seats] = await sm.connect(module).drawSeats.staticCall(later, 10, 1n, LOCK_B, []);
      expect([accounts, seats]).to.deep.equal([expected.accounts, expected.seats]);
      const tx = sm.connect(module).drawSeats(later, 10, 1n, LOCK_B, []);
      for (const who of accounts) await expect(tx).to.emit(sm, "Locked").withArgs(who, LOCK_B, 0n, true);
      for (const who of accounts) {
        expect(await sm.lockedAmount(who, LOCK_B)).to.equal(0n);
        expect(await sm.isJurorLock(who, LOCK_B)).to.equal(true); // a seat lock of nothing
      }
      // drawAccounts is the same pick without a cap.
      const [picked, pickedSeats] = await sm.connect(module).drawAccounts.staticCall(later, 10, []);
      expect([picked, pickedSeats]).to.deep.equal([expected.accounts, expected.seats]);
    });

    it("locks only the unlocked part of the reserve when it is short of seats·lockPerSeat (a partial lock)", async function () {
      const { sm, module, alice, bob, carol } = await loadFixture(jurorFixture);
      const others = [alice.address, bob.address];
      await sm.connect(module).drawSeats(SEED, 4, 100n, LOCK_A, others); // carol: 400 of 700 locked
      // Five more seats of 100 for carol alone (cap 7): 500 wanted, 300 unlocked.
      const [accounts, seats] = await sm.connect(module).drawSeats.staticCall(ethers.id("more"), 5, 100n, LOCK_B, others);
      expect([accounts, seats]).to.deep.equal([[carol.address], [5n]]);
      await expect(sm.connect(module).drawSeats(ethers.id("more"), 5, 100n, LOCK_B, others))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_B, 300n, true);
      let acc = await sm.account(carol.address);
      expect([acc.reserve, acc.seatLocked]).to.deep.equal([700n, 700n]);
      expect(await sm.lockedAmount(carol.address, LOCK_B)).to.equal(300n);
      // Releasing LOCK_A gives carol nothing more under LOCK_B; a third draw locks from what is free again.
      await sm.connect(module).unlock(carol.address, LOCK_A);
      await expect(sm.connect(module).drawSeats(ethers.id("third"), 2, 100n, LOCK_B, others))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_B, 200n, true);
      acc = await sm.account(carol.address);
      expect([acc.reserve, acc.seatLocked]).to.deep.equal([700n, 500n]);
      expect(await sm.lockedAmount(carol.address, LOCK_B)).to.equal(500n);
    });

    it("a slashed reserve below the frozen weight keeps the weight's seat cap this epoch; the lock takes what is left", async function () {
      const { sm, module, outsider, alice, bob, carol } = await loadFixture(jurorFixture);
      const others = [alice.address, bob.address];
      await sm.connect(module).drawSeats(SEED, 4, 100n, LOCK_A, others);
      await sm.connect(module).slash(carol.address, LOCK_A, 400n, outsider.address); // reserve 300, weight 700 until epoch 2
      expect(await sm.jurorWeight(carol.address)).to.equal(700n);
      const [accounts, seats] = await sm.connect(module).drawSeats.staticCall(ethers.id("after-slash"), 8, 100n, LOCK_B, others);
      expect([accounts, seats]).to.deep.equal([[carol.address], [7n]]); // cap 700 / 100; the 8th seat stays empty
      await expect(sm.connect(module).drawSeats(ethers.id("after-slash"), 8, 100n, LOCK_B, others))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_B, 300n, true);
      // From the next epoch the weight (300) caps carol at three seats.
      await toNextEpoch(sm);
      await sm.applyQueued(10);
      expect(await sm.connect(module).drawSeats.staticCall(ethers.id("after-slash"), 8, 100n, ethers.id("next"), others)).to.deep.equal([
        [carol.address],
        [3n],
      ]);
    });

    it("never seats an excluded account: its picks are redrawn", async function () {
      const { sm, module, tree, carol, alice } = await loadFixture(jurorFixture);
      for (let i = 0; i < 5; ++i) {
        const s = ethers.id(`ex-${i}`);
        const expected = modelDraw(tree, s, 5, 10n, [carol.address, ethers.ZeroAddress]);
        const [accounts, seats] = await sm.connect(module).drawSeats.staticCall(s, 5, 10n, LOCK_A, [carol.address, ethers.ZeroAddress]);
        expect(accounts).to.deep.equal(expected.accounts);
        expect(seats).to.deep.equal(expected.seats);
        expect(accounts).not.to.include(carol.address);
        if (expected.skips <= 16) expect(sum(seats)).to.equal(5n); // redrawn picks still fill the seats
      }
      // Everyone excluded: MAX_SKIPS + 1 picks, then nothing.
      const all = [alice.address, carol.address, (await ethers.getSigners())[4].address];
      await expect(sm.connect(module).drawSeats(SEED, 3, 10n, LOCK_A, all))
        .to.emit(sm, "SeatsDrawn")
        .withArgs(LOCK_A, SEED, 1n, [], []);
    });

    it("redraws at most MAX_SKIPS excluded picks: the 16th redraw may still fill a seat, the 17th excluded pick ends the draw", async function () {
      const { sm, module, alice, bob } = await loadFixture(deployFixture);
      // bob 9900, alice 100: an excluded bob is picked 99 % of the time.
      await sm.connect(bob).stakeForJury(9_900n);
      await sm.connect(alice).stakeForJury(100n);
      await enterNextEpoch(sm);
      const tree = new SumTreeModel();
      tree.set(bob.address, 9_900n);
      tree.set(alice.address, 100n);
      let boundary: string | undefined; // exactly 16 skips, then alice
      let capped: string | undefined; // 17 skips
      for (let i = 0; i < 5_000 && (boundary === undefined || capped === undefined); ++i) {
        const s = ethers.id(`skip-${i}`);
        const d = modelDraw(tree, s, 1, 1n, [bob.address]);
        if (d.skips === 16 && d.accounts.length === 1) boundary ??= s;
        if (d.skips === 17) capped ??= s;
      }
      if (boundary === undefined || capped === undefined) throw new Error("seed search failed");
      expect(await sm.connect(module).drawSeats.staticCall(boundary, 1, 1n, LOCK_A, [bob.address])).to.deep.equal([[alice.address], [1n]]);
      expect(await sm.connect(module).drawSeats.staticCall(capped, 1, 1n, LOCK_A, [bob.address])).to.deep.equal([[], []]);
      expect(await sm.connect(module).drawAccounts.staticCall(capped, 1, [bob.address])).to.deep.equal([[], []]);
    });

    it("returns nothing from an empty pool and for zero seats", async function () {
      const { sm, module } = await loadFixture(deployFixture);
      await expect(sm.connect(module).drawSeats(SEED, 3, 10n, LOCK_A, []))
        .to.emit(sm, "SeatsDrawn")
        .withArgs(LOCK_A, SEED, 0n, [], []);
      const { sm: sm2, module: m2 } = await loadFixture(jurorFixture);
      expect(await sm2.connect(m2).drawSeats.staticCall(SEED, 0, 10n, LOCK_A, [])).to.deep.equal([[], []]);
    });

    it("reverts a zero lockPerSeat, more than MAX_DRAW seats, more than MAX_EXCLUDE exclusions and a caller without MODULE_ROLE", async function () {
      const { sm, module, outsider, MODULE_ROLE } = await loadFixture(jurorFixture);
      await expect(sm.connect(module).drawSeats(SEED, 1, 0, LOCK_A, [])).to.be.revertedWithCustomError(sm, "StakeManagerZeroAmount");
      await expect(sm.connect(module).drawSeats(SEED, 65, 1, LOCK_A, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerDrawTooLarge")
        .withArgs(65, 64);
      await sm.connect(module).drawSeats.staticCall(SEED, 64, 1, LOCK_A, []);
      const nine = Array.from({ length: 9 }, () => outsider.address);
      await expect(sm.connect(module).drawSeats(SEED, 1, 1, LOCK_A, nine))
        .to.be.revertedWithCustomError(sm, "StakeManagerTooManyExcluded")
        .withArgs(9, 8);
      await sm.connect(module).drawSeats.staticCall(SEED, 1, 1, LOCK_A, nine.slice(1));
      await expect(sm.connect(outsider).drawSeats(SEED, 1, 1, LOCK_A, []))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, MODULE_ROLE);
    });

    it("reads the weights of the last applied change: a change queued this epoch does not move a draw", async function () {
      const { sm, module, alice, dave } = await loadFixture(jurorFixture);
      const before = await sm.connect(module).drawSeats.staticCall(SEED, 11, 10n, LOCK_A, []);
      await sm.connect(dave).stakeForJury(100_000n);
      await sm.connect(alice).leaveJury(100n);
      expect(await sm.connect(module).drawSeats.staticCall(SEED, 11, 10n, LOCK_A, [])).to.deep.equal(before);
      await enterNextEpoch(sm);
      expect(await sm.connect(module).drawSeats.staticCall(SEED, 11, 10n, LOCK_A, [])).not.to.deep.equal(before);
    });
  });

  describe("drawAccounts", function () {
    it("picks like drawSeats without locks and emits SeatsDrawn with a zero lock id", async function () {
      const { sm, module, tree, alice } = await loadFixture(jurorFixture);
      const expected = modelDraw(tree, SEED, 7, 0n, [alice.address]);
      const [accounts, seats] = await sm.connect(module).drawAccounts.staticCall(SEED, 7, [alice.address]);
      expect(accounts).to.deep.equal(expected.accounts);
      expect(seats).to.deep.equal(expected.seats);
      expect(sum(seats)).to.equal(7n);
      await expect(sm.connect(module).drawAccounts(SEED, 7, [alice.address]))
        .to.emit(sm, "SeatsDrawn")
        .withArgs(ethers.ZeroHash, SEED, 1n, expected.accounts, expected.seats)
        .and.not.to.emit(sm, "Locked");
      for (const who of expected.accounts) expect((await sm.account(who)).seatLocked).to.equal(0n);
      expect(await sm.totalJurorWeight()).to.equal(1000n);
    });

    it("picks 1 : 2 : 7 weights in about those proportions (2,200 seats)", async function () {
      const { sm, module, alice, bob, carol } = await loadFixture(jurorFixture);
      const counts = new Map<string, bigint>([
        [alice.address, 0n],
        [bob.address, 0n],
        [carol.address, 0n],
      ]);
      const draws = await Promise.all(
        Array.from({ length: 200 }, (_, i) => sm.connect(module).drawAccounts.staticCall(ethers.id(`stat-${i}`), 11, [])),
      );
      for (const [accounts, seats] of draws) accounts.forEach((a, i) => counts.set(a, counts.get(a)! + seats[i]));
      // Expected 220 / 440 / 1540 of 2200; bounds ≈ ±4.5σ.
      expect(Number(counts.get(alice.address))).to.be.within(155, 285);
      expect(Number(counts.get(bob.address))).to.be.within(355, 525);
      expect(Number(counts.get(carol.address))).to.be.within(1445, 1635);
    });

    it("reverts more than MAX_DRAW seats, more than MAX_EXCLUDE exclusions and a caller without MODULE_ROLE", async function () {
      const { sm, module, outsider, MODULE_ROLE } = await loadFixture(jurorFixture);
      await expect(sm.connect(module).drawAccounts(SEED, 65, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerDrawTooLarge")
        .withArgs(65, 64);
      const nine = Array.from({ length: 9 }, () => outsider.address);
      await expect(sm.connect(module).drawAccounts(SEED, 1, nine))
        .to.be.revertedWithCustomError(sm, "StakeManagerTooManyExcluded")
        .withArgs(9, 8);
      await expect(sm.connect(outsider).drawAccounts(SEED, 1, []))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, MODULE_ROLE);
    });
  });

  describe("seat locks", function () {
    async function seatedFixture() {
      const f = await jurorFixture();
      // carol only in a 4-seat draw with exclusions: carol takes all four seats (400 of 700).
      await f.sm.connect(f.module).drawSeats(SEED, 4, 100n, LOCK_A, [f.alice.address, f.bob.address]);
      return f;
    }

    it("unlock returns a seat lock to the reserve: seatLocked shrinks, reserve, free and weight stay", async function () {
      const { sm, module, carol } = await loadFixture(seatedFixture);
      let acc = await sm.account(carol.address);
      expect([acc.reserve, acc.seatLocked, acc.free]).to.deep.equal([700n, 400n, 1000n]);
      await expect(sm.connect(module).unlock(carol.address, LOCK_A)).to.emit(sm, "Unlocked").withArgs(carol.address, LOCK_A, 400n);
      acc = await sm.account(carol.address);
      expect([acc.reserve, acc.seatLocked, acc.free, acc.locked]).to.deep.equal([700n, 0n, 1000n, 0n]);
      expect(await sm.isJurorLock(carol.address, LOCK_A)).to.equal(false);
      expect(await sm.jurorWeight(carol.address)).to.equal(700n);
      expect(await sm.queueLength()).to.equal(0n);
    });

    it("slash of a seat lock shrinks the reserve at once and the weight at the next epoch", async function () {
      const { sm, token, module, outsider, carol, stakers } = await loadFixture(seatedFixture);
      const tx = await sm.connect(module).slash(carol.address, LOCK_A, 150n, outsider.address);
      await expect(tx).to.emit(sm, "Slashed").withArgs(carol.address, LOCK_A, 150n, outsider.address);
      await expect(tx).to.emit(sm, "ReserveChangeQueued").withArgs(carol.address, 2n, 0n, 0n);
      await expect(tx).to.changeTokenBalances(token, [outsider, sm], [150n, -150n]);
      let acc = await sm.account(carol.address);
      expect([acc.reserve, acc.seatLocked, acc.free, acc.pendingEpoch]).to.deep.equal([550n, 250n, 1000n, 2n]);
      expect(await sm.lockedAmount(carol.address, LOCK_A)).to.equal(250n);
      expect(await sm.isJurorLock(carol.address, LOCK_A)).to.equal(true); // partly slashed: still a seat lock
      expect(await sm.jurorWeight(carol.address)).to.equal(700n); // this epoch's weight is frozen
      await expectConservation(
        sm,
        token,
        stakers.map((s) => s.address),
      );
      await toNextEpoch(sm);
      await expect(sm.applyQueued(1)).to.emit(sm, "ReserveChangeApplied").withArgs(carol.address, 2n, 550n, 550n);
      expect(await sm.jurorWeight(carol.address)).to.equal(550n);
      // The rest of the lock is slashed (more than is left): taken = 250, the lock is closed.
      await expect(sm.connect(module).slash(carol.address, LOCK_A, 1_000n, outsider.address))
        .to.emit(sm, "Slashed")
        .withArgs(carol.address, LOCK_A, 250n, outsider.address);
      acc = await sm.account(carol.address);
      expect([acc.reserve, acc.seatLocked]).to.deep.equal([300n, 0n]);
      expect(await sm.lockedAmount(carol.address, LOCK_A)).to.equal(0n);
      expect(await sm.isJurorLock(carol.address, LOCK_A)).to.equal(false);
      await expectConservation(
        sm,
        token,
        stakers.map((s) => s.address),
      );
    });

    it("a slash that drops the reserve below minJurorStake removes the weight at the next epoch", async function () {
      const { sm, module, outsider, alice } = await loadFixture(jurorFixture);
      // 64 seats of 60: alice's reserve (100) covers one of them.
      await sm.connect(module).drawSeats(SEED, 64, 60n, LOCK_A, []);
      expect((await sm.account(alice.address)).seatLocked).to.equal(60n);
      await sm.connect(module).slash(alice.address, LOCK_A, 60n, outsider.address);
      expect(await sm.jurorWeight(alice.address)).to.equal(100n);
      await toNextEpoch(sm);
      await expect(sm.applyQueued(1)).to.emit(sm, "ReserveChangeApplied").withArgs(alice.address, 2n, 40n, 0n);
      expect(await sm.totalJurorWeight()).to.equal(900n);
    });

    it("a slash applies a due change of the account first, and caps a pending leave at what is unlocked", async function () {
      const { sm, module, outsider, carol } = await loadFixture(seatedFixture);
      await sm.connect(carol).leaveJury(500n); // reserve 700, 400 seat-locked: at most 300 can leave
      await toNextEpoch(sm); // epoch 2: due, not applied
      const tx = await sm.connect(module).slash(carol.address, LOCK_A, 100n, outsider.address);
      await expect(tx).to.emit(sm, "ReserveChangeApplied").withArgs(carol.address, 2n, 400n, 400n);
      await expect(tx).to.emit(sm, "ReserveChangeQueued").withArgs(carol.address, 3n, 0n, 0n);
      const acc = await sm.account(carol.address);
      expect([acc.reserve, acc.seatLocked, acc.free, acc.pendingLeave]).to.deep.equal([300n, 300n, 1300n, 0n]);
    });

    it("a pending leave larger than the reserve left after a slash is capped at apply", async function () {
      const { sm, module, outsider, carol } = await loadFixture(seatedFixture);
      await sm.connect(carol).leaveJury(700n); // all of it
      await sm.connect(module).slash(carol.address, LOCK_A, 400n, outsider.address); // reserve 300, nothing locked
      await toNextEpoch(sm);
      await expect(sm.applyQueued(5)).to.emit(sm, "ReserveChangeApplied").withArgs(carol.address, 2n, 0n, 0n);
      const acc = await sm.account(carol.address);
      expect([acc.reserve, acc.free, acc.pendingLeave]).to.deep.equal([0n, 1300n, 0n]);
    });
  });

  describe("lock kinds: a lock id is either a free-stake lock or a seat lock", function () {
    it("lock() on a seat lock's id reverts StakeManagerLockKindMismatch and changes nothing", async function () {
      const { sm, module, carol } = await loadFixture(deployFixture);
      await sm.connect(carol).stake(1_000n);
      await sm.connect(carol).stakeForJury(1_000n);
      await enterNextEpoch(sm);
      await sm.connect(module).drawSeats(SEED, 1, 100n, LOCK_A, []);
      await expect(sm.connect(module).lock(carol.address, LOCK_A, 50n))
        .to.be.revertedWithCustomError(sm, "StakeManagerLockKindMismatch")
        .withArgs(carol.address, LOCK_A);
      let acc = await sm.account(carol.address);
      expect([acc.free, acc.locked, acc.seatLocked, acc.reserve]).to.deep.equal([1_000n, 0n, 100n, 1_000n]);
      // Released in full, the id is free again for either kind.
      await sm.connect(module).unlock(carol.address, LOCK_A);
      await expect(sm.connect(module).lock(carol.address, LOCK_A, 50n))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_A, 50n, false);
      await sm.connect(module).unlock(carol.address, LOCK_A);
      acc = await sm.account(carol.address);
      expect([acc.free, acc.locked, acc.seatLocked, acc.reserve]).to.deep.equal([1_000n, 0n, 0n, 1_000n]);
    });

    it("lock() on a seat lock of nothing (a seat drawn with no unlocked reserve) reverts too", async function () {
      const { sm, module, carol } = await loadFixture(deployFixture);
      await sm.connect(carol).stake(1_000n);
      await sm.connect(carol).stakeForJury(100n);
      await enterNextEpoch(sm);
      await sm.connect(module).drawSeats(SEED, 1, 100n, LOCK_A, []);
      await expect(sm.connect(module).drawSeats(SEED, 1, 100n, LOCK_B, []))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_B, 0n, true);
      await expect(sm.connect(module).lock(carol.address, LOCK_B, 1n))
        .to.be.revertedWithCustomError(sm, "StakeManagerLockKindMismatch")
        .withArgs(carol.address, LOCK_B);
    });

    it("drawSeats under the id of a seated account's free-stake lock reverts StakeManagerLockKindMismatch; the whole draw is undone", async function () {
      const { sm, module, carol } = await loadFixture(deployFixture);
      await sm.connect(carol).stake(1_000n);
      await sm.connect(carol).stakeForJury(1_000n);
      await enterNextEpoch(sm);
      await sm.connect(module).lock(carol.address, LOCK_A, 50n); // collateral
      await expect(sm.connect(module).drawSeats(SEED, 1, 100n, LOCK_A, []))
        .to.be.revertedWithCustomError(sm, "StakeManagerLockKindMismatch")
        .withArgs(carol.address, LOCK_A);
      let acc = await sm.account(carol.address);
      expect([acc.free, acc.locked, acc.seatLocked]).to.deep.equal([950n, 50n, 0n]);
      expect(await sm.isJurorLock(carol.address, LOCK_A)).to.equal(false);
      // The free-stake lock still releases to free stake.
      await expect(sm.connect(module).unlock(carol.address, LOCK_A)).to.emit(sm, "Unlocked").withArgs(carol.address, LOCK_A, 50n);
      acc = await sm.account(carol.address);
      expect([acc.free, acc.locked, acc.seatLocked, acc.reserve]).to.deep.equal([1_000n, 0n, 0n, 1_000n]);
      // A free-stake lock slashed to nothing is gone: the id takes a seat lock again.
      await sm.connect(module).lock(carol.address, LOCK_B, 10n);
      await sm.connect(module).slash(carol.address, LOCK_B, 10n, module.address);
      await expect(sm.connect(module).drawSeats(SEED, 1, 100n, LOCK_B, []))
        .to.emit(sm, "Locked")
        .withArgs(carol.address, LOCK_B, 100n, true);
    });

    it("a free-stake lock under the draw's id held by an account that is not seated does not stop the draw", async function () {
      const { sm, module, alice, bob, carol } = await loadFixture(jurorFixture);
      await sm.connect(module).lock(alice.address, LOCK_A, 10n);
      const [accounts] = await sm.connect(module).drawSeats.staticCall(SEED, 3, 10n, LOCK_A, [alice.address]);
      expect(accounts).not.to.include(alice.address);
      await sm.connect(module).drawSeats(SEED, 3, 10n, LOCK_A, [alice.address]);
      expect(await sm.isJurorLock(alice.address, LOCK_A)).to.equal(false);
      expect(await sm.lockedAmount(alice.address, LOCK_A)).to.equal(10n);
      expect((await sm.lockedAmount(bob.address, LOCK_A)) + (await sm.lockedAmount(carol.address, LOCK_A))).to.equal(30n);
    });
  });

  describe("governance", function () {
    it("setUnbondingPeriod sets the period for later requests and emits UnbondingPeriodSet", async function () {
      const { sm, admin, alice } = await loadFixture(jurorFixture);
      await expect(sm.connect(admin).setUnbondingPeriod(7200)).to.emit(sm, "UnbondingPeriodSet").withArgs(PERIOD, 7200);
      await sm.connect(alice).requestUnstake(10n);
      expect((await sm.account(alice.address)).unbondingReleaseAt).to.equal(BigInt(await time.latest()) + 7200n);
      await expect(sm.connect(admin).setUnbondingPeriod(3600)).to.emit(sm, "UnbondingPeriodSet").withArgs(7200, 3600);
      await expect(sm.connect(admin).setUnbondingPeriod(90 * 86400)).to.emit(sm, "UnbondingPeriodSet");
    });

    it("setUnbondingPeriod reverts out of bounds and for a caller without GOVERNOR_ROLE", async function () {
      const { sm, admin, outsider, GOVERNOR_ROLE } = await loadFixture(deployFixture);
      await expect(sm.connect(admin).setUnbondingPeriod(3599))
        .to.be.revertedWithCustomError(sm, "StakeManagerInvalidUnbondingPeriod")
        .withArgs(3599, 3600, 90 * 86400);
      await expect(sm.connect(admin).setUnbondingPeriod(90 * 86400 + 1))
        .to.be.revertedWithCustomError(sm, "StakeManagerInvalidUnbondingPeriod")
        .withArgs(90 * 86400 + 1, 3600, 90 * 86400);
      await expect(sm.connect(outsider).setUnbondingPeriod(7200))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, GOVERNOR_ROLE);
    });

    it("setMinJurorStake reverts zero and a caller without GOVERNOR_ROLE", async function () {
      const { sm, admin, outsider, GOVERNOR_ROLE } = await loadFixture(deployFixture);
      await expect(sm.connect(admin).setMinJurorStake(0)).to.be.revertedWithCustomError(sm, "StakeManagerInvalidMinJurorStake").withArgs(0);
      await expect(sm.connect(outsider).setMinJurorStake(5))
        .to.be.revertedWithCustomError(sm, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, GOVERNOR_ROLE);
    });
  });

  describe("when the token calls back into the StakeManager", function () {
    async function reentrantFixture() {
      const [admin, module, alice] = await ethers.getSigners();
      const token = await ethers.deployContract("ReentrantToken");
      const sm = await ethers.deployContract("StakeManager", [await token.getAddress(), admin.address, PERIOD, MIN, EPOCH, WINDOW]);
      const MODULE_ROLE = await sm.MODULE_ROLE();
      await sm.grantRole(MODULE_ROLE, module.address);
      await sm.grantRole(MODULE_ROLE, await token.getAddress()); // so a re-entered slash passes its role check
      await token.mint(alice.address, 10_000n);
      await token.mint(await token.getAddress(), 10_000n);
      await token.connect(alice).approve(await sm.getAddress(), ethers.MaxUint256);
      await sm.connect(alice).stake(500n);
      await sm.connect(alice).stakeForJury(500n);
      await enterNextEpoch(sm);
      return { sm, token, module, alice };
    }

    it("stake, stakeForJury, withdraw and slash revert with ReentrancyGuardReentrantCall", async function () {
      const { sm, token, module, alice } = await loadFixture(reentrantFixture);
      const target = await sm.getAddress();
      await token.arm(target, sm.interface.encodeFunctionData("stake", [1n]));
      await expect(sm.connect(alice).stake(10n)).to.be.revertedWithCustomError(sm, "ReentrancyGuardReentrantCall");
      await token.arm(target, sm.interface.encodeFunctionData("stakeForJury", [1n]));
      await expect(sm.connect(alice).stakeForJury(10n)).to.be.revertedWithCustomError(sm, "ReentrancyGuardReentrantCall");

      await token.arm(ethers.ZeroAddress, "0x");
      await sm.connect(alice).requestUnstake(100n);
      await time.increase(PERIOD);
      await token.arm(target, sm.interface.encodeFunctionData("withdraw"));
      await expect(sm.connect(alice).withdraw()).to.be.revertedWithCustomError(sm, "ReentrancyGuardReentrantCall");

      await token.arm(ethers.ZeroAddress, "0x");
      await sm.connect(module).drawSeats(SEED, 1, 100n, LOCK_A, []);
      await token.arm(target, sm.interface.encodeFunctionData("slash", [alice.address, LOCK_A, 1n, module.address]));
      await expect(sm.connect(module).slash(alice.address, LOCK_A, 10n, module.address)).to.be.revertedWithCustomError(
        sm,
        "ReentrancyGuardReentrantCall",
      );
      expect(await sm.lockedAmount(alice.address, LOCK_A)).to.equal(100n);
    });
  });

  describe("token conservation", function () {
    it("keeps balance = Σ (free + locked + unbonding + reserve + pendingJoin) through a mixed sequence", async function () {
      const { sm, token, module, outsider, alice, bob, carol, dave, stakers } = await loadFixture(deployFixture);
      const all = stakers.map((s) => s.address);
      const check = async () => {
        await expectConservation(sm, token, all);
        let total = 0n;
        for (const a of all) {
          const acc = await sm.account(a);
          expect(acc.seatLocked).to.be.at.most(acc.reserve);
          total += await sm.jurorWeight(a);
        }
        expect(await sm.totalJurorWeight()).to.equal(total);
      };
      await sm.connect(alice).stake(1_000n);
      await sm.connect(alice).joinJury(400n);
      await sm.connect(bob).stakeForJury(800n);
      await sm.connect(carol).stake(500n);
      await sm.connect(carol).stakeForJury(300n);
      await sm.connect(carol).leaveJury(100n);
      await sm.connect(module).lock(alice.address, LOCK_A, 200n);
      await check();
      await enterNextEpoch(sm);
      await sm.connect(module).drawSeats(SEED, 9, 50n, LOCK_B, []);
      await sm.connect(module).slash(alice.address, LOCK_A, 70n, outsider.address);
      await sm.connect(alice).requestUnstake(300n);
      await sm.connect(dave).stakeForJury(250n);
      await check();
      for (const s of [alice, bob, carol])
        if ((await sm.lockedAmount(s.address, LOCK_B)) > 0n) await sm.connect(module).slash(s.address, LOCK_B, 30n, outsider.address);
      await sm.connect(bob).leaveJury(500n);
      await check();
      await enterNextEpoch(sm);
      await sm.connect(module).unlock(alice.address, LOCK_A);
      for (const s of [alice, bob, carol]) await sm.connect(module).unlock(s.address, LOCK_B);
      await time.increase(PERIOD);
      await sm.connect(alice).withdraw();
      await sm.connect(bob).requestUnstake((await sm.account(bob.address)).free);
      await check();
    });
  });
});
