/**
 * Attack (v3 issue 1): stake grinding.
 *
 * The seed of a draw is public once its block is mined. Pre-v3 draws read the live sortition tree
 * (free stake = weight, `stake()` changed it at once), so an attacker simulated `stake(x); draw()`
 * for many x and sent the best one: with 26 % of the juror stake it took 3/3 seats. v3 V3.1–V3.3:
 * draws weigh only the juror reserve as of the last applied queued change, and every change made
 * in an epoch applies at the next boundary. Here an attacker holding ~26 % of the reserve waits
 * until the dispute's (and a job's auditor) seed is public, then tries many moves — stakeForJury,
 * joinJury, leaveJury, requestUnstake, a collateral lock — each on an EVM snapshot, and the drawn
 * committee (accounts and seat counts) must be the one drawn without any move. On the old code the
 * moves change the committee (the control below shows they would, had they weighed at once).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { BlockhashRandomness__factory, StakeManager__factory, TestToken__factory, type StakeManager } from "../../../typechain-types";
import { enterNextEpoch, stakeAccount, TEST_EPOCHS } from "../../helpers/staking";
import { E18, JUROR_STAKE, commitAndOpen, createJob, deployAdversarial, pinpoint, submittedJob, type Adversarial } from "./fixture";

/** The attacker's reserve: 2,000 + 1,200 + 1,000 = 4,200 of 16,200 (25.9 %). */
const ATTACKER_RESERVES = [2_000n, 1_200n, 1_000n, 0n, 0n, 0n].map((x) => x * E18);
const ATTACKER_FREE = 5_000n * E18;

type Committee = { account: string; seats: bigint }[];

async function grindFixture() {
  const fx = await deployAdversarial();
  const signers = await ethers.getSigners();
  const attackers = signers.slice(7 + fx.jurors.length, 7 + fx.jurors.length + ATTACKER_RESERVES.length);
  expect(attackers.length).to.equal(ATTACKER_RESERVES.length);
  for (let i = 0; i < attackers.length; ++i) {
    await stakeAccount(fx.stakeManager, fx.stakeToken, attackers[i], ATTACKER_FREE, ATTACKER_RESERVES[i]);
    await fx.stakeToken.mint(attackers[i].address, 100_000n * E18);
    await fx.stakeToken.connect(attackers[i]).approve(await fx.stakeManager.getAddress(), ethers.MaxUint256);
  }
  await enterNextEpoch(fx.stakeManager);
  // Control draws below call the StakeManager directly.
  await fx.stakeManager.connect(fx.admin).grantRole(await fx.stakeManager.MODULE_ROLE(), fx.admin.address);
  return { fx, attackers };
}

/** One attacker move, made after the seed is public. */
type Move = { name: string; run: (fx: Adversarial, a: HardhatEthersSigner[]) => Promise<unknown> };

function moves(): Move[] {
  const list: Move[] = [];
  // The pre-v3 grinding loop: stake x, look at the draw, keep the best x.
  for (const x of [1n, 10n * E18, 100n * E18, 400n * E18, 1_000n * E18, 2_500n * E18, 7_000n * E18, 20_000n * E18, 60_000n * E18]) {
    list.push({ name: `stakeForJury(${x / E18}) by a juror`, run: (fx, a) => fx.stakeManager.connect(a[0]).stakeForJury(x) });
    list.push({ name: `stakeForJury(${x / E18}) by a fresh account`, run: (fx, a) => fx.stakeManager.connect(a[3]).stakeForJury(x) });
  }
  for (const x of [1n, 500n * E18, ATTACKER_FREE]) {
    list.push({ name: `joinJury(${x / E18}) by a juror`, run: (fx, a) => fx.stakeManager.connect(a[1]).joinJury(x) });
    list.push({ name: `joinJury(${x / E18}) by a fresh account`, run: (fx, a) => fx.stakeManager.connect(a[4]).joinJury(x) });
  }
  for (const i of [0, 1, 2]) {
    list.push({ name: `leaveJury(all) by attacker ${i}`, run: (fx, a) => fx.stakeManager.connect(a[i]).leaveJury(ATTACKER_RESERVES[i]) });
    list.push({
      name: `leaveJury(part) by attacker ${i}`,
      run: (fx, a) => fx.stakeManager.connect(a[i]).leaveJury(ATTACKER_RESERVES[i] - 100n * E18),
    });
  }
  list.push({ name: "requestUnstake(all free)", run: (fx, a) => fx.stakeManager.connect(a[2]).requestUnstake(ATTACKER_FREE) });
  list.push({
    name: "claimJob (collateral lock on free stake)",
    run: async (fx, a) => {
      const id = await createJob(fx);
      await fx.jobMarket.connect(a[2]).claimJob(id);
    },
  });
  list.push({
    name: "syncJurorWeight of everyone",
    run: async (fx, a) => {
      for (const s of [...a, ...fx.jurors]) await fx.stakeManager.syncJurorWeight(s.address);
    },
  });
  list.push({
    name: "everything at once: all leave, fresh accounts join big",
    run: async (fx, a) => {
      for (const i of [0, 1, 2]) await fx.stakeManager.connect(a[i]).leaveJury(ATTACKER_RESERVES[i]);
      await fx.stakeManager.connect(a[3]).stakeForJury(50_000n * E18);
      await fx.stakeManager.connect(a[4]).joinJury(ATTACKER_FREE);
      await fx.stakeManager.connect(a[5]).stakeForJury(50_000n * E18);
      await fx.stakeManager.applyQueued(1_000);
    },
  });
  return list;
}

/** Mines until `target` is readable (its hash is then public). */
async function mineTo(target: bigint): Promise<void> {
  const now = BigInt(await ethers.provider.getBlockNumber());
  if (target >= now) await mine(target - now + 1n);
}

async function committeeOf(fx: Adversarial, disputeId: bigint): Promise<Committee> {
  const d = await fx.disputeManager.getDispute(disputeId);
  const r = await fx.disputeManager.getRound(disputeId, d.round);
  return Promise.all(
    r.jurors.map(async (j) => ({ account: j, seats: BigInt((await fx.disputeManager.getVote(disputeId, d.round, j)).seats) })),
  );
}

async function auditorsOf(fx: Adversarial, jobId: bigint): Promise<Committee> {
  const am = await auditManagerOf(fx);
  const auditors = await am.auditorsOf(jobId);
  return Promise.all(auditors.map(async (a) => ({ account: a, seats: await am.auditorSeats(jobId, a) })));
}

async function auditManagerOf(fx: Adversarial) {
  return ethers.getContractAt("AuditManager", await fx.jobMarket.auditManager());
}

function attackerSeats(c: Committee, attackers: HardhatEthersSigner[]): bigint {
  const set = new Set(attackers.map((a) => a.address));
  return c.filter((x) => set.has(x.account)).reduce((s, x) => s + x.seats, 0n);
}

describe("adversarial: stake grinding (v3 V3.1–V3.3)", function () {
  it("the attacker holds ~26 % of the draw weight; free stake weighs nothing", async function () {
    const { fx, attackers } = await loadFixture(grindFixture);
    const sm = fx.stakeManager;
    let own = 0n;
    for (const a of attackers) own += await sm.jurorWeight(a.address);
    const total = await sm.totalJurorWeight();
    expect(total).to.equal(BigInt(fx.jurors.length) * JUROR_STAKE + own);
    expect(Number((own * 1000n) / total) / 1000).to.be.within(0.25, 0.27);
    expect(await sm.jurorWeight(attackers[3].address)).to.equal(0n); // 5,000 free, no reserve
  });

  it("a dispute committee drawn from a public seed is the same whatever the attacker stakes, joins, leaves, unbonds or locks after seeing it", async function () {
    const { fx, attackers } = await loadFixture(grindFixture);
    const jobId = await submittedJob(fx);
    const id = await commitAndOpen(fx, fx.challenger, jobId, 1);
    await pinpoint(fx, id, 0);
    const d = await fx.disputeManager.getDispute(id);
    expect(d.drawEpoch).to.equal(await fx.stakeManager.currentEpoch());
    expect(d.randomnessBlock).to.be.greaterThan(0n);
    await mineTo(d.randomnessBlock);
    // The seed is public now: the attacker can compute every draw.
    const randomness = BlockhashRandomness__factory.connect(await fx.disputeManager.randomness(), fx.admin);
    const seed = ethers.keccak256(
      ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256", "uint8"], [await randomness.valueAt(d.randomnessBlock), id, d.round]),
    );
    const exclude = [fx.worker.address, fx.challenger.address];
    const size = fx.params.dispute.committeeSize;
    const lock = fx.params.dispute.jurorLock;
    const lockId = await fx.disputeManager.jurorLockId(id, d.round);

    const base = await takeSnapshot();
    await expect(fx.disputeManager.drawCommittee(id)).to.emit(fx.disputeManager, "CommitteeDrawn");
    const baseline = await committeeOf(fx, id);
    expect(baseline.reduce((s, x) => s + x.seats, 0n)).to.equal(BigInt(size));
    // The committee is exactly the StakeManager's draw from the seed.
    await base.restore();
    const [acc, seats] = await fx.stakeManager.connect(fx.admin).drawSeats.staticCall(seed, size, lock, lockId, exclude);
    expect(acc.map((a, i) => ({ account: a, seats: seats[i] }))).to.deep.equal(baseline);

    let wouldHaveChanged = 0;
    for (const m of moves()) {
      const snap = await takeSnapshot();
      await m.run(fx, attackers);
      // Same seed, same epoch: the draw must not see the move.
      await fx.disputeManager.drawCommittee(id);
      expect(await committeeOf(fx, id), m.name).to.deep.equal(baseline);
      await snap.restore();
      // Control: had the move weighed at once (as pre-v3), the same seed would draw another committee.
      const live = await takeSnapshot();
      await m.run(fx, attackers);
      await enterNextEpoch(fx.stakeManager);
      const [a2, s2] = await fx.stakeManager.connect(fx.admin).drawSeats.staticCall(seed, size, lock, lockId, exclude);
      if (JSON.stringify(a2.map((a, i) => [a, s2[i].toString()])) !== JSON.stringify(baseline.map((x) => [x.account, x.seats.toString()])))
        ++wouldHaveChanged;
      await live.restore();
    }
    // Without the epoch freeze most of these moves would have re-rolled the committee.
    expect(wouldHaveChanged).to.be.greaterThan(moves().length / 2);
    expect(attackerSeats(baseline, attackers)).to.be.at.most(BigInt(size));
  });

  it("a job's auditor seats drawn from a public seed are the same whatever the attacker does after seeing it", async function () {
    const { fx, attackers } = await loadFixture(grindFixture);
    const am = await auditManagerOf(fx);
    const jobId = await submittedJob(fx);
    // The seed was scheduled at submission (JobMarket.submitResult → AuditManager.onJobSubmitted →
    // StakeManager.scheduleDraw) on a settled queue: this epoch, a target drawDelay blocks later.
    const audit = await am.getAudit(jobId);
    const [epoch, target] = [audit.drawEpoch, audit.drawTarget];
    expect(epoch).to.equal(await fx.stakeManager.currentEpoch());
    expect(target).to.be.greaterThan(0n);
    expect(await fx.stakeManager.queueSettled()).to.equal(true);
    await mineTo(target);
    expect(await am.canDraw(jobId)).to.equal(true);

    const base = await takeSnapshot();
    await expect(am.drawAuditors(jobId)).to.emit(am, "AuditorsAssigned");
    const baseline = await auditorsOf(fx, jobId);
    expect(baseline.length).to.be.greaterThan(0);
    expect(baseline.map((x) => x.account)).not.to.include(fx.worker.address);
    await base.restore();

    let wouldHaveChanged = 0;
    const randomness = BlockhashRandomness__factory.connect(await fx.disputeManager.randomness(), fx.admin);
    const seed = ethers.keccak256(
      ethers.AbiCoder.defaultAbiCoder().encode(
        ["bytes32", "uint256", "string"],
        [await randomness.valueAt(target), jobId, "upow.auditors"],
      ),
    );
    const terms = await fx.jobMarket.jobTerms(jobId);
    for (const m of moves()) {
      const snap = await takeSnapshot();
      await m.run(fx, attackers);
      await am.drawAuditors(jobId);
      expect(await auditorsOf(fx, jobId), m.name).to.deep.equal(baseline);
      await snap.restore();
      const live = await takeSnapshot();
      await m.run(fx, attackers);
      await enterNextEpoch(fx.stakeManager);
      const [a2, s2] = await fx.stakeManager.connect(fx.admin).drawAccounts.staticCall(seed, terms.auditorsPerJob, [fx.worker.address]);
      if (JSON.stringify(a2.map((a, i) => [a, s2[i].toString()])) !== JSON.stringify(baseline.map((x) => [x.account, x.seats.toString()])))
        ++wouldHaveChanged;
      await live.restore();
    }
    expect(wouldHaveChanged).to.be.greaterThan(moves().length / 2);
  });
});

/**
 * Formerly a residual grinding channel, now closed at the source. The tree's leaf layout depends on
 * the ORDER in which due changes are applied (a new key takes a vacated leaf or the next one, and
 * `_newLeaf` moves a parent key down), and `_due` applies an account's due change out of FIFO order
 * whenever that account (or anyone, via `syncJurorWeight`) touches it. Before the fix a seed could
 * be scheduled (and become public) while the queue was still open, so the attacker chose the order
 * and with it the committee. Now `scheduleDraw` sets a target only in the call that finds every
 * change due by its epoch applied, and a draw reverts on an unsettled queue: the order is fixed
 * before any seed exists, and after that no call made in the epoch moves a leaf.
 */
describe("adversarial: the application order of due changes is fixed before any seed exists", function () {
  async function orderFixture() {
    const signers = await ethers.getSigners();
    const [admin, module, ...rest] = signers;
    const honest = rest.slice(0, 8);
    const attackers = rest.slice(8, 11);
    const token = await new TestToken__factory(admin).deploy("Stake", "STK");
    const sm: StakeManager = await new StakeManager__factory(admin).deploy(
      await token.getAddress(),
      admin.address,
      86_400,
      1,
      TEST_EPOCHS.epochLength,
      TEST_EPOCHS.drawWindow,
    );
    await sm.grantRole(await sm.MODULE_ROLE(), module.address);
    for (const h of honest) await stakeAccount(sm, token, h, 0n, 1_000n);
    await enterNextEpoch(sm);
    // Epoch 1: two honest jurors leave (vacating leaves) and three attacker accounts join (due at
    // epoch 2), weights 1,000 / 2,000 / 3,000; the attackers keep free stake and allowance for later moves.
    await sm.connect(honest[1]).leaveJury(1_000n);
    await sm.connect(honest[4]).leaveJury(1_000n);
    for (let i = 0; i < attackers.length; ++i) {
      await stakeAccount(sm, token, attackers[i], 5_000n, BigInt(i + 1) * 1_000n);
      await token.mint(attackers[i].address, 10_000n);
      await token.connect(attackers[i]).approve(await sm.getAddress(), ethers.MaxUint256);
    }
    await time.increaseTo(await sm.epochStart(2));
    // Epoch 2 has begun; nothing is applied yet.
    expect(await sm.queueSettled()).to.equal(false);
    return { sm, module, honest, attackers };
  }

  const SEEDS = Array.from({ length: 20 }, (_, s) => ethers.id(`order-${s}`));

  /** Draws for every seed (static calls) and the weights: what a committee could be this epoch. */
  async function drawsOf(sm: StakeManager, module: HardhatEthersSigner, accounts: HardhatEthersSigner[]): Promise<string[]> {
    const weights = await Promise.all(accounts.map((x) => sm.jurorWeight(x.address)));
    const out = [`weights ${weights.join(",")}`];
    for (const seed of SEEDS) {
      const [acc, seats] = await sm.connect(module).drawSeats.staticCall(seed, 11, 1n, ethers.ZeroHash, []);
      out.push(acc.map((a, i) => `${a}:${seats[i]}`).join(","));
    }
    return out;
  }

  it("while changes are due, no draw runs and scheduleDraw sets a target only in the call that applies them all", async function () {
    const { sm, module } = await loadFixture(orderFixture);
    const due = await sm.queueLength();
    await expect(sm.connect(module).drawSeats(SEEDS[0], 11, 1n, ethers.ZeroHash, []))
      .to.be.revertedWithCustomError(sm, "StakeManagerQueueBacklog")
      .withArgs(due);
    await expect(sm.connect(module).drawAccounts(SEEDS[0], 11, []))
      .to.be.revertedWithCustomError(sm, "StakeManagerQueueBacklog")
      .withArgs(due);
    const clock = BigInt(await ethers.provider.getBlockNumber());
    const [epoch, target] = await sm.connect(module).scheduleDraw.staticCall(clock, 5);
    expect([epoch, target]).to.deep.equal([2n, clock + 5n]);
    const tx = await sm.connect(module).scheduleDraw(clock, 5);
    const applied = (await tx.wait())!.logs.filter((l) => sm.interface.parseLog(l)?.name === "ReserveChangeApplied");
    expect(BigInt(applied.length)).to.equal(due); // in FIFO order, in the same transaction
    expect(await sm.queueSettled()).to.equal(true);
  });

  it("control: the order in which due changes are applied does change the draws (a real channel, had a seed been public)", async function () {
    const { sm, module, honest, attackers } = await loadFixture(orderFixture);
    const everyone = [...honest, ...attackers];
    const results: string[][] = [];
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
    ]) {
      const snap = await takeSnapshot();
      for (const i of order) await sm.syncJurorWeight(attackers[i].address); // applies i's due change now (pre-seed)
      await sm.connect(module).scheduleDraw(0, 1); // applies the rest (FIFO) and settles
      results.push(await drawsOf(sm, module, everyone));
      await snap.restore();
    }
    // Same weights in every order...
    expect(results[1][0]).to.equal(results[0][0]);
    expect(results[2][0]).to.equal(results[0][0]);
    // ...but another layout: some seeds draw other committees.
    const differing = SEEDS.filter((_, s) => results[1][s + 1] !== results[0][s + 1] || results[2][s + 1] !== results[0][s + 1]);
    expect(differing.length).to.be.greaterThan(0);
  });

  it("after scheduleDraw settled the queue, no call in the epoch (syncJurorWeight, _due via the attackers' own moves, applyQueued) changes any draw", async function () {
    const { sm, module, honest, attackers } = await loadFixture(orderFixture);
    const everyone = [...honest, ...attackers];
    await sm.connect(module).scheduleDraw(0, 1);
    expect(await sm.queueSettled()).to.equal(true);
    const baseline = await drawsOf(sm, module, everyone);
    const moves: [string, () => Promise<unknown>][] = [
      [
        "sync every attacker",
        async () => {
          for (const a of attackers) await sm.syncJurorWeight(a.address);
        },
      ],
      [
        "sync in reverse, then everyone",
        async () => {
          for (const a of [...attackers].reverse()) await sm.syncJurorWeight(a.address);
          for (const h of honest) await sm.syncJurorWeight(h.address);
        },
      ],
      [
        "attackers leave, rejoin and top up (each call runs _due)",
        async () => {
          await sm.connect(attackers[2]).leaveJury(3_000n);
          await sm.connect(attackers[0]).joinJury(1_000n);
          await sm.connect(attackers[1]).stakeForJury(7_000n);
          await sm.syncJurorWeight(attackers[2].address);
        },
      ],
      [
        "the leavers come back",
        async () => {
          await sm.connect(honest[1]).joinJury(1_000n);
          await sm.connect(honest[4]).joinJury(500n);
          await sm.syncJurorWeight(honest[4].address);
        },
      ],
      ["applyQueued", () => sm.applyQueued(1_000)],
      ["another scheduleDraw", () => sm.connect(module).scheduleDraw(0, 1)],
    ];
    for (const [name, move] of moves) {
      const snap = await takeSnapshot();
      const from = await ethers.provider.getBlockNumber();
      await move();
      // Nothing applied after the seed: no ReserveChangeApplied in any block since.
      const applied = await sm.queryFilter(sm.filters.ReserveChangeApplied(), from + 1);
      expect(
        applied.map((e) => e.args.account),
        name,
      ).to.deep.equal([]);
      expect(await sm.queueSettled(), name).to.equal(true);
      expect(await drawsOf(sm, module, everyone), name).to.deep.equal(baseline);
      await snap.restore();
    }
  });
});
