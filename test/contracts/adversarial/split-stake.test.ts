/**
 * Attack (v3 issue 3): split stake.
 *
 * Pre-v3 draws were without replacement and zeroed a drawn juror's weight: every pick of a big
 * honest account removed a big slice of honest weight, every pick of a small sybil only a small
 * slice, so splitting stake over many accounts captured committees (30 % of the stake over 300
 * accounts held the majority of 11-seat committees in every simulated draw). v3 V3.4: seats are
 * drawn with replacement from the frozen weights, so an account's expected seats are proportional
 * to its reserve whether it is split or not.
 *
 * Deterministic statistics on the StakeManager alone: honest reserve 700 in five accounts of 140,
 * attacker reserve 300 either in one account or split over 30 accounts of 10; the same 1,000 fixed
 * seeds draw 11 seats each (drawSeats, static calls). The old rule is replayed in TypeScript on the
 * same seeds (same pick formula `keccak256(abi.encode(seed, i)) % remaining`, leaves in insertion
 * order, a picked leaf's weight zeroed). An account holds at most `weight / lockPerSeat` seats of
 * one draw (further picks leave the seat empty): with lockPerSeat 1 the cap never binds here; with
 * lockPerSeat 10 it binds only the 10-weight sybils, so splitting can only lose seats.
 *
 * Tolerances. With replacement the attacker's seats in one draw are Binomial(11, 0.3): mean share
 * 0.3 with σ = √(0.3·0.7/11) = 0.138 per draw, so σ = 0.0044 over 1,000 draws; P(≥ 6 seats) =
 * 0.0782, σ = √(0.0782·0.9218/1000) = 0.0085 over 1,000 draws. The bounds below are ≈ 4σ: mean share
 * 0.3 ± 0.02, majority fraction 0.0782 ± 0.035, single-vs-split difference ≤ 0.05 (σ of a difference
 * of two such fractions ≈ 0.012). Seeds are fixed, so the outcome never changes between runs; the
 * bounds only say how far from the binomial law a correct implementation can plausibly land.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import { StakeManager__factory, TestToken__factory, type StakeManager } from "../../../typechain-types";
import { enterNextEpoch, TEST_EPOCHS, UNDER_COVERAGE } from "../../helpers/staking";

const SEATS = 11;
const DRAWS = Number(process.env.SPLIT_DRAWS ?? "1000");
const HONEST = [140n, 140n, 140n, 140n, 140n]; // 700 = 70 %
const ATTACKER_TOTAL = 300n; // 30 %
const SPLIT = 30;
const coder = ethers.AbiCoder.defaultAbiCoder();
const LOCK = ethers.id("split-stake");

/** P(X ≥ 6), X ~ Binomial(11, 0.3). */
function binomialTail(n: number, p: number, k: number): number {
  let s = 0;
  for (let i = k; i <= n; ++i) {
    let c = 1;
    for (let j = 0; j < i; ++j) c = (c * (n - j)) / (j + 1);
    s += c * p ** i * (1 - p) ** (n - i);
  }
  return s;
}

function seedOf(i: number): string {
  return ethers.id(`split-stake-${i}`);
}

function wallet(tag: string) {
  return new ethers.Wallet(ethers.id(tag), ethers.provider);
}

/** Deploys a StakeManager with the honest reserves and the attacker's reserve in `parts` accounts (applied). */
async function deployPool(parts: number) {
  const [admin, module] = await ethers.getSigners();
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
  const honest = HONEST.map((_, i) => wallet(`split-honest-${i}`));
  const attacker = Array.from({ length: parts }, (_, i) => wallet(`split-attacker-${parts}-${i}`));
  const join = async (w: ReturnType<typeof wallet>, amount: bigint) => {
    await setBalance(w.address, 10n ** 20n);
    await token.mint(w.address, amount);
    await token.connect(w).approve(await sm.getAddress(), amount);
    await sm.connect(w).stakeForJury(amount);
  };
  for (let i = 0; i < honest.length; ++i) await join(honest[i], HONEST[i]);
  for (const a of attacker) await join(a, ATTACKER_TOTAL / BigInt(parts));
  await enterNextEpoch(sm);
  expect(await sm.totalJurorWeight()).to.equal(1_000n);
  return { sm, module, honest: honest.map((w) => w.address), attacker: attacker.map((w) => w.address) };
}

const singleFixture = () => deployPool(1);
const splitFixture = () => deployPool(SPLIT);

interface Stats {
  meanShare: number;
  majority: number;
}

/** Draws DRAWS × 11 seats on the contract; the attacker's mean seat share and majority frequency. */
async function contractStats(
  sm: StakeManager,
  module: Awaited<ReturnType<typeof deployPool>>["module"],
  attacker: string[],
  lockPerSeat = 1n,
  draws = DRAWS,
): Promise<Stats & { emptySeats: number; maxSeatsPerAttacker: number }> {
  const mine = new Set(attacker);
  let share = 0;
  let majority = 0;
  let emptySeats = 0;
  let maxSeatsPerAttacker = 0;
  // Raw eth_calls (the same static call as `drawSeats.staticCall`, without the contract wrapper's
  // per-call argument resolution), fifty at a time.
  const to = await sm.getAddress();
  const from = module.address;
  const batch = 50;
  for (let first = 0; first < draws; first += batch) {
    const raw: string[] = await Promise.all(
      Array.from({ length: Math.min(batch, draws - first) }, (_, k) =>
        ethers.provider.send("eth_call", [
          { from, to, data: sm.interface.encodeFunctionData("drawSeats", [seedOf(first + k), SEATS, lockPerSeat, LOCK, []]) },
          "latest",
        ]),
      ),
    );
    for (const r of raw) {
      const [accounts, seats] = sm.interface.decodeFunctionResult("drawSeats", r) as unknown as [string[], bigint[]];
      let total = 0n;
      let own = 0n;
      accounts.forEach((a, i) => {
        total += seats[i];
        if (mine.has(a)) {
          own += seats[i];
          if (Number(seats[i]) > maxSeatsPerAttacker) maxSeatsPerAttacker = Number(seats[i]);
        }
      });
      if (lockPerSeat === 1n) expect(total).to.equal(BigInt(SEATS)); // no seat empty, none lost
      emptySeats += SEATS - Number(total);
      share += Number(own) / SEATS;
      if (own * 2n > BigInt(SEATS)) ++majority;
    }
  }
  return { meanShare: share / draws, majority: majority / draws, emptySeats, maxSeatsPerAttacker };
}

/**
 * The pre-v3 rule on the same seeds: pick i is `keccak256(abi.encode(seed, i)) % remaining` over
 * the leaves in insertion order, and the picked leaf's weight is set to zero.
 */
const rawPicks: bigint[][] = [];
/** `uint256(keccak256(abi.encode(seedOf(d), i)))` (cached: the same for every rule and pool). */
function rawPick(d: number, i: number): bigint {
  rawPicks[d] ??= [];
  rawPicks[d][i] ??= BigInt(ethers.keccak256(coder.encode(["bytes32", "uint256"], [seedOf(d), i])));
  return rawPicks[d][i];
}

function oldRuleStats(weights: bigint[], isAttacker: boolean[]): Stats {
  let share = 0;
  let majority = 0;
  for (let d = 0; d < DRAWS; ++d) {
    const w = weights.slice();
    let total = w.reduce((a, b) => a + b, 0n);
    let own = 0;
    for (let i = 0; i < SEATS; ++i) {
      if (total === 0n) break;
      let v = rawPick(d, i) % total;
      let j = 0;
      while (v >= w[j]) v -= w[j++];
      if (isAttacker[j]) ++own;
      total -= w[j];
      w[j] = 0n;
    }
    share += own / SEATS;
    if (own * 2 > SEATS) ++majority;
  }
  return { meanShare: share / DRAWS, majority: majority / DRAWS };
}

function oldRuleFor(parts: number): Stats {
  const weights = [...HONEST, ...Array.from({ length: parts }, () => ATTACKER_TOTAL / BigInt(parts))];
  return oldRuleStats(
    weights,
    weights.map((_, i) => i >= HONEST.length),
  );
}

/** Contract statistics per pool, computed once (static calls change nothing). */
const cache = new Map<number, Stats>();
async function statsFor(parts: number): Promise<Stats> {
  const hit = cache.get(parts);
  if (hit !== undefined) return hit;
  const { sm, module, attacker } = await loadFixture(parts === 1 ? singleFixture : splitFixture);
  expect(attacker.length).to.equal(parts);
  const t0 = Date.now();
  const s = await contractStats(sm, module, attacker);
  if (process.env.SPLIT_DEBUG) console.log(`    pool of ${parts}: ${JSON.stringify(s)} in ${Date.now() - t0} ms`);
  cache.set(parts, s);
  return s;
}

describe("adversarial: split stake (v3 V3.4)", function () {
  const P_MAJORITY = binomialTail(SEATS, 0.3, 6); // 0.0782
  // Statistics over a thousand draws: run by `npm test`; under coverage (several times slower)
  // they add no line the StakeManager tests do not reach.
  before(function () {
    if (UNDER_COVERAGE) this.skip();
  });

  it("with replacement, 30 % of the reserve in one account gets ≈ 30 % of the seats and a majority in ≈ 8 % of 11-seat draws", async function () {
    const s = await statsFor(1);
    expect(s.meanShare).to.be.within(0.28, 0.32);
    expect(s.majority).to.be.within(P_MAJORITY - 0.035, P_MAJORITY + 0.035);
  });

  it("split over 30 accounts, the same 30 % gets the same share and the same small majority frequency (no gain from splitting)", async function () {
    const single = await statsFor(1);
    const split = await statsFor(SPLIT);
    expect(split.meanShare).to.be.within(0.28, 0.32);
    expect(split.majority).to.be.within(P_MAJORITY - 0.035, P_MAJORITY + 0.035);
    expect(Math.abs(split.majority - single.majority)).to.be.at.most(0.05);
    expect(Math.abs(split.meanShare - single.meanShare)).to.be.at.most(0.03);
  });

  it("the old rule (without replacement, pick zeroed) on the same seeds hands the split attacker the majority of every draw", async function () {
    const oldSingle = oldRuleFor(1);
    const oldSplit = oldRuleFor(SPLIT);
    if (process.env.SPLIT_DEBUG) console.log(`    old rule: single ${JSON.stringify(oldSingle)}, split ${JSON.stringify(oldSplit)}`);
    // One attacker account can take at most one of 11 seats under the old rule...
    expect(oldSingle.majority).to.equal(0);
    // ...30 accounts face five honest ones that can take at most five seats: a majority in every draw.
    expect(oldSplit.majority).to.equal(1);
    expect(oldSplit.meanShare).to.be.greaterThan(0.5);
    // The setting (300 accounts) is no different.
    expect(oldRuleFor(300).majority).to.equal(1);
    // The with-replacement contract on the same seeds: the split attacker's majority is rare again.
    const now = await statsFor(SPLIT);
    expect(now.majority).to.be.lessThan(oldSplit.majority - 0.8);
  });

  it("the per-draw seat cap (frozen weight / lockPerSeat) never rewards splitting: with lockPerSeat 10 each 10-weight sybil holds at most one seat, and the split share can only fall", async function () {
    const draws = 200; // fixed (not SPLIT_DRAWS): fixed seeds, deterministic outcome; σ of a share ≈ 0.138/√200 ≈ 0.01
    // One pool at a time: both fixtures deploy at the same addresses.
    const single = await loadFixture(singleFixture);
    const s1 = await contractStats(single.sm, single.module, single.attacker, 10n, draws);
    const split = await loadFixture(splitFixture);
    const s30 = await contractStats(split.sm, split.module, split.attacker, 10n, draws);
    if (process.env.SPLIT_DEBUG) console.log(`    lockPerSeat 10: single ${JSON.stringify(s1)}, split ${JSON.stringify(s30)}`);
    expect(s30.maxSeatsPerAttacker).to.be.at.most(1);
    // Honest accounts (140: cap 14) and the single attacker (300: cap 30) never reach their caps in 11 seats.
    expect(s1.emptySeats).to.equal(0);
    expect(s30.meanShare).to.be.at.most(s1.meanShare + 0.01);
    expect(s30.majority).to.be.at.most(s1.majority + 0.01);
  });
});
