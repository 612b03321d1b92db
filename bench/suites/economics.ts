/**
 * §7 Economics: with the default parameters read from freshly deployed contracts (audit parameters
 * A, s, w and `requiredCollateral(reward)` of the JobMarket), the expected gain of a worker faking a
 * fraction f of the intervals: f·C − P(f)·(reward + penalty), penalty = collateral·(1 − challengerBps), with P(f) = 1 − [w + (1−w)(1−d)]^A
 * (PROTOCOL §10.9) and d the per-auditor detection rate: measured by the detection suite at s (where
 * it ran that f) and the formula 1 − (1−f)^s. C = compute cost of the job, taken equal to the reward
 * (a worker at break-even saves the most by cheating).
 */
import hre from "hardhat";
import { type SuiteContext, type SuiteResult, fmt, pct, table } from "../lib/common";
import type { DetectionRow } from "./detection";

export async function runEconomics(ctx: SuiteContext): Promise<SuiteResult> {
  await hre.run("compile", { quiet: true });
  const { deploySystem, E18 } = await import("../../test/helpers/system");
  const sys = await deploySystem();
  const A = Number(await sys.jobMarket.auditorsPerJob());
  const s = Number(await sys.jobMarket.samplesPerAuditor());
  const w = Number(await sys.jobMarket.hostileAuditorBps()) / 10_000;
  const reward = 100n * E18;
  const collateralWei = await sys.jobMarket.requiredCollateral(reward);
  const toTok = (x: bigint): number => Number(x / 10n ** 12n) / 1e6;
  const R = toTok(reward);
  const collateral = toTok(collateralWei);
  // v3 V4.3: the worker's own second account may take the challenger's share of a slash, so only the
  // rest of the collateral counts as lost.
  const challengerShare = Number((await sys.disputeManager.params()).challengerBps) / 10_000;
  const penalty = collateral * (1 - challengerShare);
  const C = R;
  const detection = ctx.earlier.get("detection");
  const measured = (detection?.rows ?? []) as unknown as DetectionRow[];
  const fractions = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
  const pOf = (d: number): number => 1 - (w + (1 - w) * (1 - d)) ** A;
  const rows = fractions.map((f) => {
    const dTheory = 1 - (1 - f) ** s;
    const m = measured.find((r) => r.kind === "copy" && Math.abs(r.fraction - f) < 1e-9 && r.s === s);
    const d = m ? m.detectionRate : dTheory;
    const P = pOf(d);
    const saved = f * C;
    return {
      f,
      savedCompute: saved,
      perAuditorDetectionTheory: dTheory,
      perAuditorDetectionMeasured: m ? m.detectionRate : null,
      pCaught: P,
      pCaughtTheory: pOf(dTheory),
      expectedLoss: P * (R + penalty),
      expectedGain: saved - P * (R + penalty),
      expectedGainCollateralOnly: saved - P * penalty,
      source: m ? "measured" : "formula",
    };
  });
  const allNegative = rows.every((r) => r.expectedGain < 0);
  const md = [
    `Defaults read from the deployed JobMarket: A = ${A} auditors, s = ${s} intervals each, w = ${pct(w, 0)} of auditor stake assumed hostile,`,
    `reward ${fmt(R)} tokens → requiredCollateral = ${fmt(collateral)} tokens, of which ${fmt(penalty)} is lost on a conviction`,
    `(the rest, challengerBps = ${pct(challengerShare, 0)}, may go to the worker's own second account: v3 V4.3); C (compute cost) = reward.`,
    "",
    table(
      [
        "faked f",
        "saved compute f·C",
        "d per auditor: measured (formula)",
        "P(caught)",
        "expected loss P·(reward+penalty)",
        "expected gain",
        "gain counting the penalty only",
      ],
      rows.map((r) => [
        pct(r.f, 0),
        fmt(r.savedCompute),
        r.perAuditorDetectionMeasured === null
          ? `– (${pct(r.perAuditorDetectionTheory)})`
          : `${pct(r.perAuditorDetectionMeasured)} (${pct(r.perAuditorDetectionTheory)})`,
        pct(r.pCaught, 2),
        fmt(r.expectedLoss),
        `**${fmt(r.expectedGain)}**`,
        fmt(r.expectedGainCollateralOnly),
      ]),
    ),
    "",
    `Expected gain negative for every f shown: **${allNegative ? "yes" : "NO"}**. P uses the measured detection rate of the copy attack`,
    `(suite 4, ${detection ? `${(detection.settings as { seeds?: number }).seeds ?? "?"} seeds × verifiers` : "not run"}) at s = ${s} where suite 4 ran that f, else the formula.`,
    "The gain counting the penalty only (a cheater that would not have been paid anyway) is shown for the stricter reading. Tampering",
    "with the model (noise) is not bounded by C: only detection deters it (§10.9).",
  ].join("\n");
  return {
    name: "economics",
    title: "7. Economics of cheating",
    rows,
    settings: {
      A,
      s,
      w,
      reward: R,
      collateral,
      penalty,
      challengerShare,
      C,
      detectionFrom: detection ? "detection suite" : "formula only",
    },
    markdown: md,
  };
}
