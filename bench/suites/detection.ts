/**
 * §4 Detection: real cheating trajectories (the real trainer with a cheating step executor, real
 * checkpoints and commitments) audited with the real replay and the k-step tolerance rule. Every
 * interval of a trajectory is replayed once by a verifier running other settings than the worker
 * (opt level disabled vs all) and its verdict cached; then many audits are sampled over it: audit
 * seeds × verifier addresses, each verifier's sample drawn by the docs/encoding.md rule
 * (`auditSample`, the twin of AuditManager.sampleOf). Measured detection beside 1 − (1 − f)^s.
 */
import { keccak256, toUtf8Bytes, getAddress } from "ethers";
import { CheckpointStore } from "../../verifier/engine/checkpoints";
import { DEFAULT_FLOORS } from "../../verifier/engine/calibrate";
import { replay } from "../../verifier/engine/replay";
import { compareInterval } from "../../verifier/engine/tolerance";
import { train } from "../../verifier/engine/trainer";
import { auditSample } from "../../verifier/protocol/auditSample";
import { type Attack, attackLabel, cheatingInputs, savedFraction } from "../lib/attacks";
import { type SuiteContext, type SuiteResult, fmt, layersLabel, mlpSetup, now, pct, runner, table } from "../lib/common";
import { removeDir, tempDir } from "../lib/trajectory";

export const SAMPLE_SIZES = [1, 2, 5, 8, 10] as const;

export interface DetectionRow {
  attack: string;
  kind: Attack["kind"];
  fraction: number;
  /** Faked intervals / all intervals. */
  fakedFraction: number;
  /** Intervals whose replay failed the k-step rule / all intervals. */
  detectableFraction: number;
  /** Faked intervals the k-step rule caught / faked intervals. */
  caughtPerFakedInterval: number;
  s: number;
  trials: number;
  detected: number;
  detectionRate: number;
  /** 1.96·sqrt(p(1−p)/N). */
  ci95: number;
  theoryWithReplacement: number;
  theoryWithoutReplacement: number;
  verifierFlopsFraction: number;
  verifierTimeFraction: number;
  savedComputeFraction: number;
}

/** 1 − C(n−m, s)/C(n, s): at least one of m bad intervals among s distinct draws of n. */
function hypergeomHit(n: number, m: number, s: number): number {
  if (m === 0) return 0;
  let miss = 1;
  for (let i = 0; i < s; i++) miss *= Math.max(0, n - m - i) / (n - i);
  return 1 - miss;
}

export async function runDetection(ctx: SuiteContext): Promise<SuiteResult> {
  const layers = [784, 32, 10];
  const batch = 32;
  const n = ctx.quick ? 100 : 200;
  const k = ctx.quick ? 4 : 5;
  const T = n * k;
  const seeds = ctx.quick ? 100 : 500;
  const verifiers = 4;
  const fractions = [0.01, 0.05, 0.1, 0.5];
  const attacks: Attack[] = [
    { kind: "honest" },
    ...fractions.map((f) => ({ kind: "copy", fraction: f }) as Attack),
    ...(ctx.quick ? [0.1] : fractions).map((f) => ({ kind: "extrapolate", fraction: f }) as Attack),
    { kind: "noise", fraction: 0.1, magnitude: 1e-3 },
    { kind: "noise", fraction: 0.1, magnitude: 1e-6 },
  ];
  const bounds = { deltaKUpd: DEFAULT_FLOORS.deltaKUpd, deltaKUlp: DEFAULT_FLOORS.deltaKUlp };
  const setup = mlpSetup(layers, batch);
  const workerRunner = await runner(setup.graph, 1, "all");
  const verifierRunner = await runner(setup.graph, 1, "disabled");
  // Audit seeds and verifier addresses, fixed for the whole suite so every attack sees the same draws.
  const auditSeeds = Array.from({ length: seeds }, (_, i) => keccak256(toUtf8Bytes(`upow.bench.auditSeed:${i}`)));
  const addresses = Array.from({ length: verifiers }, (_, v) =>
    getAddress(`0x${keccak256(toUtf8Bytes(`upow.bench.verifier:${v}`)).slice(-40)}`),
  );
  const maxS = Math.max(...SAMPLE_SIZES);
  const samples: number[][] = [];
  for (const seed of auditSeeds)
    for (const v of addresses)
      samples.push(auditSample({ auditSeed: seed, jobId: 1n, verifier: v, checkpointCount: n + 1, samples: maxS }));

  const rows: DetectionRow[] = [];
  const trajectories: Record<string, unknown>[] = [];
  for (const attack of attacks) {
    const dir = tempDir("detect");
    try {
      const inputs = cheatingInputs(attack, { runner: workerRunner, batches: setup.batches }, { key: "bench-detection", T, k });
      const t0 = now();
      await train({
        runner: inputs.runner,
        initialState: setup.initial,
        batches: inputs.batches,
        hp: setup.hp,
        T,
        k,
        dir,
        selfCheck: false,
      });
      const trainSeconds = now() - t0;
      const store = await CheckpointStore.open(dir);
      const index = (await store.readIndex())!;
      // Replay every interval once from the worker's committed checkpoint; cache the verdicts.
      const fails: boolean[] = [];
      const r0 = now();
      let worst = 0;
      let start = await store.loadState(index.checkpoints[0]!.file, index.checkpoints[0]!.stateHash);
      for (let i = 0; i < n; i++) {
        const end = await store.loadState(index.checkpoints[i + 1]!.file, index.checkpoints[i + 1]!.stateHash);
        const rep = await replay({ runner: verifierRunner, state: start, startStep: i * k, k, batches: setup.batches, hp: setup.hp });
        const report = compareInterval(start, rep.finalState, end, bounds);
        fails.push(report.convict);
        if (!inputs.faked.has(i)) worst = Math.max(worst, report.worstRatio);
        start = end;
      }
      const replaySeconds = (now() - r0) / n;
      const detectable = fails.filter(Boolean).length;
      const caught = [...inputs.faked].filter((i) => fails[i]).length;
      const falseFlags = fails.filter((x, i) => x && !inputs.faked.has(i)).length;
      trajectories.push({
        attack: attackLabel(attack),
        faked: inputs.faked.size,
        detectable,
        caught,
        falseFlagsOnHonestIntervals: falseFlags,
        worstHonestIntervalRatio: worst,
        trainSeconds,
        replaySecondsPerInterval: replaySeconds,
      });
      ctx.log(`detection: ${attackLabel(attack)}: faked ${inputs.faked.size}/${n}, replay fails ${detectable}, false flags ${falseFlags}`);
      const fakedFraction = inputs.faked.size / n;
      for (const s of SAMPLE_SIZES) {
        let detected = 0;
        for (const sample of samples) if (sample.slice(0, s).some((i) => fails[i])) detected++;
        const p = detected / samples.length;
        rows.push({
          attack: attackLabel(attack),
          kind: attack.kind,
          fraction: attack.kind === "honest" ? 0 : attack.fraction,
          fakedFraction,
          detectableFraction: detectable / n,
          caughtPerFakedInterval: inputs.faked.size ? caught / inputs.faked.size : 0,
          s,
          trials: samples.length,
          detected,
          detectionRate: p,
          ci95: 1.96 * Math.sqrt((p * (1 - p)) / samples.length),
          theoryWithReplacement: 1 - (1 - fakedFraction) ** s,
          theoryWithoutReplacement: hypergeomHit(n, inputs.faked.size, s),
          verifierFlopsFraction: (s * k) / T,
          verifierTimeFraction: (s * replaySeconds) / trainSeconds,
          savedComputeFraction: fakedFraction * savedFraction(attack, k),
        });
      }
    } finally {
      removeDir(dir);
    }
  }
  await workerRunner.dispose();
  await verifierRunner.dispose();

  const shownS = [1, 2, 5, 10];
  const md = [
    table(
      ["attack", "faked f", "caught by replay", ...shownS.map((s) => `s=${s}: measured (theory 1−(1−f)^s)`)],
      attacks.map((a) => {
        const rs = rows.filter((r) => r.attack === attackLabel(a));
        const r0 = rs[0]!;
        return [
          attackLabel(a),
          pct(r0.fakedFraction),
          a.kind === "honest"
            ? `${trajectories.find((t) => t.attack === attackLabel(a))!.detectable as number} false flags`
            : pct(r0.caughtPerFakedInterval, 0),
          ...shownS.map((s) => {
            const r = rs.find((x) => x.s === s)!;
            return `${pct(r.detectionRate)} ± ${pct(r.ci95)} (${pct(r.theoryWithReplacement)})`;
          }),
        ];
      }),
    ),
    "",
    table(
      ["s", "verifier FLOPs / training FLOPs (s·k/T)", "verifier time / training time (measured)"],
      shownS.map((s) => {
        const rs = rows.filter((r) => r.s === s);
        return [s, pct(rs[0]!.verifierFlopsFraction, 2), pct(rs.reduce((a, r) => a + r.verifierTimeFraction, 0) / rs.length, 2)];
      }),
    ),
    "",
    `Model ${layersLabel(layers)} (Adam), batch ${batch}, T = ${T} steps, k = ${k}, n = ${n} intervals. The worker trains with the real`,
    "trainer and a cheating executor (cpu, opt all); the verifier replays every interval once from the worker's committed checkpoint",
    "(cpu, opt disabled: other settings than the worker) and applies the k-step rule with the δ_k floors; the verdicts are cached and",
    `${seeds} audit seeds × ${verifiers} verifier addresses = ${samples.length} audits per cell draw their samples with \`auditSample\``,
    "(docs/encoding.md). ± is the 95% binomial interval. Samples are distinct intervals, so the measured rate sits at or slightly above",
    '1−(1−f)^s (the exact without-replacement value is in the JSON). "caught by replay" = faked intervals whose replay fails the rule:',
    "noise below the δ_k bound is not detectable by design (it is within honest float drift), which bounds what such tampering can do.",
  ].join("\n");
  return {
    name: "detection",
    title: "4. Detection of cheating trajectories",
    rows: [...rows, ...trajectories.map((t) => ({ kind: "trajectory", ...t }))],
    settings: {
      layers,
      batch,
      T,
      k,
      n,
      seeds,
      verifiers,
      sampleSizes: SAMPLE_SIZES,
      bounds,
      worker: "cpu/threads=1/opt=all",
      verifier: "cpu/threads=1/opt=disabled",
    },
    markdown: md,
  };
}
