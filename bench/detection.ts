/**
 * Detection per FLOP (issue item 7): probability that the honest auditor seats catch a worker faking
 * 10 % of a T = 10⁴, k = 100 job (its steps or its whole intervals), against the share of the
 * training FLOPs the seats re-execute, for the old default (4 seats × 8 interval replays), the same
 * seats with more samples, and the plan of verifier/daemon/audit/plan.ts; closed form beside a
 * Monte-Carlo run (bench/lib/auditSim.ts). Then the collateral that keeps every faked fraction
 * unprofitable under each. A pure computation: no engine, no chain.
 *   npm run bench -- --only=audit-plan   (table into bench/results/README.md, JSON into audit-plan.json)
 *   npx ts-node --transpile-only bench/detection.ts [--quick]   (JSON, table on stdout)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { auditPlan, detectionProbability, unprofitableCollateral, type AuditCheckKind } from "../verifier/daemon/audit/plan";
import { defaultParams } from "../scripts/lib/params";
import { arrangements, missRate, type Arrangement } from "./lib/auditSim";
import { type SuiteContext, type SuiteResult, fmt, pct, table } from "./lib/common";

const T = 10_000;
const K = 100;
const F = 0.1;
/** The largest state the plan is sized for, and the 784-128-10 Adam MLP's step (engine-speed suite). */
const STATE_BYTES = 10e6;
const FLOPS_PER_STEP = 2.77e7;

interface Candidate {
  label: string;
  seats: number;
  samplesPerSeat: number;
  check: AuditCheckKind;
}

export async function runAuditPlan(ctx: SuiteContext): Promise<SuiteResult> {
  const params = defaultParams();
  const p = params.jobMarket;
  const h = p.hostileAuditorBps / 10_000;
  const flopsPerByte = Number(p.refFlopsPerSecond) / Number(p.refBytesPerSecond);
  const challengerShare = params.dispute.challengerBps / 10_000;
  const plan = auditPlan({
    totalSteps: T,
    stepsPerInterval: K,
    flopsPerStep: FLOPS_PER_STEP,
    stateBytes: STATE_BYTES,
    flopsPerByte,
    fakedFraction: F,
    hostileFraction: h,
  });
  const old = { seats: p.auditorsPerJob, samplesPerSeat: p.samplesPerAuditor };
  const candidates: Candidate[] = [
    { label: "old default", ...old, check: "replay" },
    { label: "old seats, 4× samples", seats: old.seats, samplesPerSeat: old.samplesPerSeat * 4, check: "replay" },
    { label: "old default, single-step", ...old, check: "single-step" },
    { label: "old seats, 32 samples, single-step", seats: old.seats, samplesPerSeat: 32, check: "single-step" },
    { label: "16 seats × 7, single-step", seats: 16, samplesPerSeat: 7, check: "single-step" },
    { label: "**plan**", seats: plan.seats, samplesPerSeat: plan.samplesPerSeat, check: plan.check },
    { label: "plan seats, replays", seats: plan.seats, samplesPerSeat: plan.samplesPerSeat, check: "replay" },
  ];
  const trials = ctx.quick ? 5_000 : 20_000;
  const fakes = arrangements(T / K, K, F);
  const rows = candidates.map((c, ci) => {
    const steps = c.check === "replay" ? K : 1;
    const measured = {} as Record<Arrangement, number>;
    for (const [ai, a] of (["wholeIntervals", "spread", "randomSteps"] as const).entries()) {
      measured[a] = 1 - missRate(c, fakes[a], K, h, trials, ci * 8 + ai);
    }
    ctx.log(`${c.label}: ${c.seats} × ${c.samplesPerSeat} ${c.check}`);
    return {
      ...c,
      closedForm: detectionProbability({ seats: c.seats, samplesPerSeat: c.samplesPerSeat, fakedFraction: F, hostileFraction: h }),
      measured,
      replayedFlopsFraction: (c.seats * c.samplesPerSeat * steps) / T,
      fetchedBytes: c.seats * c.samplesPerSeat * 2 * STATE_BYTES,
      collateral: unprofitableCollateral({ seats: c.seats, samplesPerSeat: c.samplesPerSeat, hostileFraction: h, challengerShare }),
      collateralAt2C: unprofitableCollateral({
        seats: c.seats,
        samplesPerSeat: c.samplesPerSeat,
        hostileFraction: h,
        challengerShare,
        computeCost: 2,
      }),
    };
  });
  const floor = p.minCollateralBps / 10_000;
  const sigma = Math.sqrt((0.001 * 0.999) / trials);
  const markdown = [
    `A job of T = ${T} steps, k = ${K} (${T / K} intervals), a worker faking f = ${pct(F, 0)} of its steps; seats hostile with`,
    `h = ${pct(h, 0)} (JobMarket \`hostileAuditorBps\`), drawn with replacement by stake. Closed form: 1 − [h + (1 − h)(1 − f)^s]^A,`,
    `a lower bound over every arrangement of the faked steps. Monte-Carlo: ${trials} audits per cell (σ ≈ ${fmt(sigma * 100, 2)} points at 99.9 %),`,
    `each honest seat sampling s distinct intervals; faked as whole intervals, spread evenly over every interval (the single-step worst`,
    `case), or as random steps. FLOPs: A·s·(k or 1) steps re-executed, all seats counted. States fetched: 2 per check of ${fmt(STATE_BYTES / 1e6)} MB.`,
    "",
    table(
      [
        "audit",
        "A",
        "s",
        "check",
        "P closed form",
        "MC whole intervals",
        "MC spread",
        "MC random steps",
        "re-executed FLOPs",
        "bytes fetched",
      ],
      rows.map((r) => [
        r.label,
        r.seats,
        r.samplesPerSeat,
        r.check,
        pct(r.closedForm, 2),
        pct(r.measured.wholeIntervals, 2),
        pct(r.measured.spread, 2),
        pct(r.measured.randomSteps, 2),
        pct(r.replayedFlopsFraction, 2),
        `${fmt(r.fetchedBytes / 1e9)} GB`,
      ]),
    ),
    "",
    `Plan (verifier/daemon/audit/plan.ts) for 10 MB states and a ${fmt(FLOPS_PER_STEP / 1e9, 3)} GFLOP step at the reference rates (${fmt(flopsPerByte)} FLOP per fetched byte):`,
    `**A = ${plan.seats} seats, s = ${plan.samplesPerSeat} intervals each, ${plan.check} checks**: P ≥ ${pct(plan.detection, 3)}, ${pct(plan.flopsFraction, 2)} of the FLOPs re-executed;`,
    `with the state fetches priced at the reference rates the audits cost ${pct(plan.costFraction, 1)} of the training in step-equivalents (fetching dominates).`,
    `No sample size reaches 99.9 % with ${old.seats} seats: at best 1 − h^${old.seats} = ${pct(1 - h ** old.seats, 2)}.`,
    `Recommended governance parameters (JobMarket \`setAuditParams\`): auditorsPerJob = ${plan.seats}, samplesPerAuditor = ${plan.samplesPerSeat}, hostileAuditorBps = ${p.hostileAuditorBps}; the check kind is off-chain (plan.ts).`,
    "",
    "Collateral that keeps every faked fraction f ∈ {0.1 %, 0.2 %, …, 100 %} unprofitable, as a multiple of the reward:",
    `c = max_f (f·C/P(f) − 1)/(1 − challengerBps), challengerBps = ${pct(challengerShare, 0)} (v3 V4.3), C = compute cost.`,
    "",
    table(
      ["audit", "A × s", "collateral, C = reward", "collateral, C = 2 × reward"],
      rows.map((r) => [r.label, `${r.seats} × ${r.samplesPerSeat}`, fmt(r.collateral), fmt(r.collateralAt2C)]),
    ),
    "",
    `The worst fraction is f = 100 % (P = 1 − h^A), so c ≈ (C − 1)/(1 − challengerBps) once P(1) ≈ 1: the audit plan cannot lower it further.`,
    `The deployed floor \`minCollateralBps\` = ${p.minCollateralBps} (${fmt(floor)} × reward) covers C = reward in every row: **${rows.every((r) => r.collateral <= floor) ? "yes" : "NO"}**;`,
    `C = 2 × reward in every row: **${rows.every((r) => r.collateralAt2C <= floor) ? "yes" : "NO"}** (a job whose compute costs more than the reward needs collateral above the floor).`,
  ].join("\n");
  return {
    name: "audit-plan",
    title: "Audit plan: detection per re-executed FLOP (issue item 7)",
    settings: { T, k: K, f: F, h, trials, stateBytes: STATE_BYTES, flopsPerStep: FLOPS_PER_STEP, flopsPerByte, challengerShare, plan },
    rows,
    markdown,
  };
}

if (require.main === module) {
  const results = path.join(__dirname, "results");
  const quick = process.argv.includes("--quick");
  runAuditPlan({ quick, earlier: new Map(), log: (m) => console.log(m) })
    .then((r) => {
      mkdirSync(results, { recursive: true });
      writeFileSync(path.join(results, "audit-plan.json"), `${JSON.stringify(r, null, 1)}\n`);
      console.log(r.markdown);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
