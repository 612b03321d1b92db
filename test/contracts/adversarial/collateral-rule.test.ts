/**
 * Attack 7 (issue 13): the collateral rule (§10.9, v3 V4.3).
 *
 * Cheating must not pay: f·reward < P(f)·(reward + what the worker loses), with
 * P(f) = 1 − [w + (1−w)(1−f)^s]^A. Two ways an attacker used to get more than the rule priced:
 * 1. its own second account challenges and collects `challengerBps` of the slash, so the worker
 *    loses only `collateral·(1 − challengerBps)` — a rule counting the whole collateral under-prices;
 * 2. `w` was read as a share of auditor *accounts*: drawn without replacement, splitting stake over
 *    many accounts raised the attacker's share of seats above its share of stake. With replacement
 *    every auditor seat is an independent stake-weighted pick, so `w` = the attacker's share of
 *    stake = its expected share of seats, and an account holding n seats samples n·s intervals
 *    (it checks as much as n auditors would).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployJobsFixture, requiredCollateralTs, submittedWithAuditors, T, K, E18 } from "../../helpers/jobs";

const ONE = 10n ** 18n;
const GRID = [1n, 2n, 5n, 10n, 20n, 50n, 100n].map((p) => p * 10n ** 16n);

/** P(f) in 1e18 fixed point, rounded down (the detection probability an honest bound needs). */
function detection(f: bigint, w: bigint, s: bigint, a: bigint): number {
  const fw = Number(w) / 1e18;
  const ff = Number(f) / 1e18;
  return 1 - Math.pow(fw + (1 - fw) * Math.pow(1 - ff, Number(s)), Number(a));
}

describe("adversarial: collateral rule", () => {
  it("prices only what the worker cannot win back through its own challenger", async () => {
    const fx = await loadFixture(deployJobsFixture);
    const jm = fx.jobMarket;
    // A thin audit (2 auditors, 2 intervals each) and a low floor, so the f-grid decides the collateral.
    await jm.connect(fx.admin).setAuditParams(2, 2, 3_000);
    await jm.connect(fx.admin).setCollateralParams(100, await jm.livenessPenaltyBps());
    let compared = 0;
    const [a, s, wBps] = await Promise.all([jm.auditorsPerJob(), jm.samplesPerAuditor(), jm.hostileAuditorBps()]);
    const challengerBps = BigInt((await fx.disputeManager.params()).challengerBps);
    const w = (wBps * ONE) / 10_000n;
    for (const reward of [10n ** 15n, 100n * E18, 12_345n * E18]) {
      const c = await jm.requiredCollateral(reward);
      const lost = c - (c * challengerBps) / 10_000n; // the sybil challenger takes challengerBps back
      for (const f of GRID) {
        const gain = (Number(f) / 1e18) * Number(reward);
        const risk = detection(f, w, s, a) * Number(reward + lost);
        // The contract solves the bound exactly (1 wei margin); doubles carry ~1e-16 relative error.
        expect(gain, `f = ${Number(f) / 1e16} %, reward ${reward}`).to.be.lessThan(risk * (1 + 1e-12));
      }
      // The pre-v3 rule counted the whole collateral: with the sybil's refund it under-prices.
      const naive = requiredCollateralTs(reward, {
        minCollateralBps: await jm.minCollateralBps(),
        hostileBps: wBps,
        samples: s,
        auditors: a,
        challengerBps: 0n,
      });
      if (naive > (reward * (await jm.minCollateralBps())) / 10_000n) {
        expect(naive).to.be.lessThan(c);
        const naiveLost = naive - (naive * challengerBps) / 10_000n;
        const worst = GRID.some(
          (f) => (Number(f) / 1e18) * Number(reward) > detection(f, w, s, a) * Number(reward + naiveLost) * (1 + 1e-6),
        );
        expect(worst, "the naive collateral leaves some f profitable").to.equal(true);
        compared++;
      }
    }
    expect(compared, "the naive rule was compared for every reward").to.equal(3);
  });

  it("w is a share of seats: a multi-seat auditor samples n·s intervals, and seat shares follow stake", async () => {
    const fx = await loadFixture(deployJobsFixture);
    const { jobId, assigned } = await submittedWithAuditors(fx);
    const s = await fx.jobMarket.samplesPerAuditor();
    const intervals = BigInt(T / K);
    let seatsTotal = 0n;
    for (const acct of assigned) {
      const seats = await fx.auditManager.auditorSeats(jobId, acct.address);
      seatsTotal += seats;
      const want = s * seats < intervals ? s * seats : intervals;
      expect(BigInt((await fx.auditManager.sampleOf(jobId, acct.address)).length)).to.equal(want);
    }
    expect(seatsTotal).to.equal(await fx.jobMarket.auditorsPerJob());

    // Over many seeds, the seats an account takes follow its share of the reserve (± 4σ),
    // whether it holds its stake in one account or several.
    const sm = fx.stakeManager;
    const total = await sm.totalJurorWeight();
    const target = fx.auditors[0]!.address;
    const share = Number(await sm.jurorWeight(target)) / Number(total);
    const am = await ethers.getImpersonatedSigner(await fx.auditManager.getAddress());
    await ethers.provider.send("hardhat_setBalance", [am.address, "0x56BC75E2D63100000"]);
    const draws = 150;
    const seatsPerDraw = 8;
    let held = 0;
    for (let i = 0; i < draws; i++) {
      const [accounts, counts] = await sm.connect(am).drawAccounts.staticCall(ethers.id(`collateral-seed-${i}`), seatsPerDraw, []);
      const k = accounts.indexOf(target);
      if (k >= 0) held += Number(counts[k]);
    }
    const n = draws * seatsPerDraw;
    const sigma = Math.sqrt(n * share * (1 - share));
    expect(Math.abs(held - n * share)).to.be.lessThan(4 * sigma);
  });
});
