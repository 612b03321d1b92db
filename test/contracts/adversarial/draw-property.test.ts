/**
 * Property V3.3 (fast-check): an account that may stake, top up, unstake or take locks after
 * seeing the seed cannot change who is drawn.
 *
 * The StakeManager alone, a module account driving locks, slashes and draws. In an epoch whose
 * queue is applied, a seed is fixed; then a random sequence of moves by random accounts — stake,
 * stakeForJury, joinJury, leaveJury, requestUnstake, withdraw, syncJurorWeight, applyQueued, and
 * module lock / unlock / slash of free-stake locks and of existing seat locks — runs in the same
 * epoch, and `drawSeats` (and `drawAccounts`) for the seed must return exactly what they return
 * without the moves (EVM snapshot / revert around every run). Token conservation is checked after
 * the moves too. Runs: FC_RUNS_DRAW (default 50); FC_SEED replays a failing run.
 *
 * Precondition of the property as the contract stands: every account's unlocked reserve covers all
 * seats of the draw before the moves, so releasing a seat lock cannot turn an empty seat into a
 * filled one (see the known flaws at the end, run with UPOW_KNOWN_FLAWS=1).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import fc from "fast-check";
import { StakeManager__factory, TestToken__factory, type StakeManager, type TestToken } from "../../../typechain-types";
import { enterNextEpoch, TEST_EPOCHS } from "../../helpers/staking";

const RUNS = Number(process.env.FC_RUNS_DRAW ?? "50");
const FC_SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const UNBONDING = 3_600n; // MIN_UNBONDING_PERIOD: "wait" moves stay far inside one epoch
const MIN = 10n;
const SEATS = 11;
const LOCK_PER_SEAT = 10n;
const FREE_LOCKS = [ethers.id("free-1"), ethers.id("free-2")];
const SEAT_LOCK = ethers.id("earlier-round");
const DRAW_LOCK = ethers.id("this-round");
const SEED = ethers.id("property-seed");

type Move =
  | { kind: "stake" | "stakeForJury" | "joinJury" | "leaveJury" | "requestUnstake"; who: number; amount: number }
  | { kind: "withdraw" | "sync"; who: number }
  | { kind: "wait"; seconds: number }
  | { kind: "applyQueued"; max: number }
  | { kind: "lock"; who: number; id: number; amount: number }
  | { kind: "unlock"; who: number; id: number }
  | { kind: "slash"; who: number; id: number; amount: number }
  | { kind: "draw"; seats: number; nonce: number };

/**
 * Deploys and stakes six actors: free 1,000 each; reserves (applied) as given; free-stake locks of
 * 100 under both free lock ids; an earlier round's seat locks (6 seats of 10 under SEAT_LOCK).
 * Epoch 1 has begun and its queue is applied.
 */
async function deployPool(reserves: bigint[], earlierSeats = 6) {
  const [admin, module, outsider, ...rest] = await ethers.getSigners();
  const actors = rest.slice(0, reserves.length);
  const token: TestToken = await new TestToken__factory(admin).deploy("Stake", "STK");
  const sm: StakeManager = await new StakeManager__factory(admin).deploy(await token.getAddress(), admin.address, UNBONDING, MIN, TEST_EPOCHS.epochLength, TEST_EPOCHS.drawWindow);
  await sm.grantRole(await sm.MODULE_ROLE(), module.address);
  for (let i = 0; i < actors.length; ++i) {
    await token.mint(actors[i].address, 1_000_000n);
    await token.connect(actors[i]).approve(await sm.getAddress(), ethers.MaxUint256);
    await sm.connect(actors[i]).stake(1_000n);
    if (reserves[i] > 0n) await sm.connect(actors[i]).stakeForJury(reserves[i]);
    for (const id of FREE_LOCKS) await sm.connect(module).lock(actors[i].address, id, 100n);
  }
  await enterNextEpoch(sm);
  await sm.connect(module).drawSeats(ethers.id("earlier-seed"), earlierSeats, LOCK_PER_SEAT, SEAT_LOCK, []);
  /** Other stakers (counted in conservation only). */
  const others: string[] = [];
  return { sm, token, module, outsider, actors, others };
}

/** Reserves ≥ 60 (earlier seats) + 110 (this draw): every pick can always take its seat. */
const amplePool = () => deployPool([300n, 500n, 200n, 800n, 250n, 0n]);
/** Tight reserves: some picks' unlocked reserve is short of LOCK_PER_SEAT. */
const tightPool = () => deployPool([15n, 25n, 12n, 800n, 18n, 0n], 12);

const amount = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 51, max: 2_000 }), fc.constantFrom(1, 100, 1_000, 100_000));

function moveArb(nActors: number, withDraws: boolean): fc.Arbitrary<Move> {
  const who = fc.nat(nActors - 1);
  const lockId = fc.nat(FREE_LOCKS.length); // FREE_LOCKS[0..], then SEAT_LOCK
  const arbs: fc.Arbitrary<Move>[] = [
    fc.record({ kind: fc.constantFrom("stake" as const, "stakeForJury" as const, "joinJury" as const, "leaveJury" as const, "requestUnstake" as const), who, amount }),
    fc.record({ kind: fc.constantFrom("withdraw" as const, "sync" as const), who }),
    fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 2 * Number(UNBONDING) }) }),
    fc.record({ kind: fc.constant("applyQueued" as const), max: fc.integer({ min: 0, max: 100 }) }),
    fc.record({ kind: fc.constant("lock" as const), who, id: fc.nat(FREE_LOCKS.length - 1), amount }),
    fc.record({ kind: fc.constant("unlock" as const), who, id: lockId }),
    fc.record({ kind: fc.constant("slash" as const), who, id: lockId, amount: fc.integer({ min: 0, max: 500 }) }),
  ];
  if (withDraws) arbs.push(fc.record({ kind: fc.constant("draw" as const), seats: fc.integer({ min: 1, max: 20 }), nonce: fc.nat(1_000) }));
  return fc.oneof(...arbs);
}

type Pool = Awaited<ReturnType<typeof deployPool>>;

/** Plays one move; false when the contract refused it. */
async function play(p: Pool, m: Move): Promise<boolean> {
  const { sm, module, outsider, actors } = p;
  const lockIdOf = (i: number) => (i < FREE_LOCKS.length ? FREE_LOCKS[i] : SEAT_LOCK);
  try {
    switch (m.kind) {
      case "stake":
      case "stakeForJury":
      case "joinJury":
      case "leaveJury":
      case "requestUnstake":
        await sm.connect(actors[m.who])[m.kind](BigInt(m.amount));
        break;
      case "withdraw":
        await sm.connect(actors[m.who]).withdraw();
        break;
      case "sync":
        await sm.connect(outsider).syncJurorWeight(actors[m.who].address);
        break;
      case "wait":
        await time.increase(m.seconds);
        break;
      case "applyQueued":
        await sm.connect(outsider).applyQueued(m.max);
        break;
      case "lock":
        await sm.connect(module).lock(actors[m.who].address, lockIdOf(m.id), BigInt(m.amount));
        break;
      case "unlock":
        await sm.connect(module).unlock(actors[m.who].address, lockIdOf(m.id));
        break;
      case "slash":
        await sm.connect(module).slash(actors[m.who].address, lockIdOf(m.id), BigInt(m.amount), outsider.address);
        break;
      case "draw":
        await sm.connect(module).drawSeats(ethers.id(`other-${m.nonce}`), m.seats, LOCK_PER_SEAT, ethers.id(`other-lock-${m.nonce}`), []);
        break;
    }
    return true;
  } catch {
    // A move the contract refuses (not enough stake, nothing to withdraw, ...) changes nothing.
    return false;
  }
}

async function drawNow(p: Pool): Promise<string> {
  const exclude = [p.actors[0].address];
  const seats = await p.sm.connect(p.module).drawSeats.staticCall(SEED, SEATS, LOCK_PER_SEAT, DRAW_LOCK, exclude);
  const accounts = await p.sm.connect(p.module).drawAccounts.staticCall(SEED, SEATS, exclude);
  const str = (r: [string[], bigint[]]) => r[0].map((a, i) => `${a}:${r[1][i]}`).join(",");
  return `seats[${str(seats)}] accounts[${str(accounts)}]`;
}

async function expectConservation(p: Pool): Promise<void> {
  let total = 0n;
  for (const a of [...p.actors.map((x) => x.address), ...p.others]) {
    const acc = await p.sm.account(a);
    total += acc.free + acc.locked + acc.unbonding + acc.reserve + acc.pendingJoin;
    expect(acc.seatLocked).to.be.at.most(acc.reserve);
  }
  expect(await p.token.balanceOf(await p.sm.getAddress())).to.equal(total);
}

/** Checks the property on `pool` for RUNS sequences; `settled` applies the queue before the seed. */
async function checkProperty(pool: Pool, withDraws: boolean, settled = true): Promise<void> {
  const { sm } = pool;
  const epoch = await sm.currentEpoch();
  if (settled) expect(await sm.queueSettled()).to.equal(true);
  const before = await drawNow(pool);
  expect(before).to.match(/0x/); // somebody is drawn
  let played = 0;
  let total = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(moveArb(pool.actors.length, withDraws), { minLength: 1, maxLength: 20 }), async (moves) => {
      const snap = await takeSnapshot();
      try {
        for (const m of moves) {
          ++total;
          if (await play(pool, m)) ++played;
        }
        expect(await sm.currentEpoch()).to.equal(epoch); // every move stayed in the seed's epoch
        await expectConservation(pool);
        expect(await drawNow(pool)).to.equal(before);
      } finally {
        await snap.restore();
      }
    }),
    { numRuns: RUNS, seed: FC_SEED, endOnFailure: false },
  );
  // Not vacuous: most generated moves went through.
  expect(played).to.be.greaterThan(total / 2);
}

describe("adversarial: draw property (v3 V3.3)", function () {
  it("no sequence of stake / reserve / unbonding / lock / slash moves made after the seed changes what drawSeats and drawAccounts return", async function () {
    const pool = await loadFixture(amplePool);
    // The precondition: every account's unlocked reserve covers the whole draw.
    for (const a of pool.actors) {
      const acc = await pool.sm.account(a.address);
      if (acc.reserve > 0n) expect(acc.reserve - acc.seatLocked).to.be.at.least(BigInt(SEATS) * LOCK_PER_SEAT);
    }
    expect(await pool.sm.queueLength()).to.equal(0n);
    await checkProperty(pool, false);
  });

  it("holds a day into the epoch as well", async function () {
    const pool = await loadFixture(amplePool);
    await time.increase(86_400);
    await checkProperty(pool, false);
  });
});

(process.env.UPOW_KNOWN_FLAWS ? describe : describe.skip)("known flaws: the draw property without its preconditions", function () {
  it("fails with tight reserves once other draws take seat locks or earlier seat locks are released after the seed", async function () {
    const pool = await loadFixture(tightPool);
    await checkProperty(pool, true);
  });

  it("fails when the seed is fixed before the due queue is applied (application order chosen after the seed)", async function () {
    const pool = await loadFixture(amplePool);
    // Fresh and leaving reserves queued in epoch 1, due at epoch 2, not yet applied when the seed is fixed.
    const [admin] = await ethers.getSigners();
    const extra = (await ethers.getSigners()).slice(12, 15);
    for (const [i, e] of extra.entries()) {
      await pool.token.connect(admin).mint(e.address, 10_000n);
      await pool.token.connect(e).approve(await pool.sm.getAddress(), ethers.MaxUint256);
      await pool.sm.connect(e).stakeForJury(BigInt(400 + 300 * i));
      pool.others.push(e.address);
    }
    await pool.sm.connect(pool.actors[2]).leaveJury(140n);
    // An actor's new key queued after theirs: applying it first (its own move or anyone's sync) gives it their leaf.
    await pool.sm.connect(pool.actors[5]).joinJury(500n);
    await time.increaseTo(await pool.sm.epochStart((await pool.sm.currentEpoch()) + 1n));
    expect(await pool.sm.queueSettled()).to.equal(false);
    await checkProperty(pool, false, false);
  });
});
