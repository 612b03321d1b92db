/** `upow calibrate`: honest drift between execution settings → recommended δ bounds; cheats' ratios. */
import type { Command } from "commander";
import { calibrate } from "../../engine/calibrate";
import { parseIntOption, type CliContext } from "../context";
import { loadJob } from "../jobfiles";

export function registerCalibrate(program: Command, ctx: () => CliContext): void {
  program
    .command("calibrate")
    .description("measure honest drift (threads, graph optimisation, WebGPU if present), recommend δ_upd/δ_ulp/δ_k, show cheats fail")
    .requiredOption("--job <file>", "job file (graph, initial state, batches, hyperparameters)")
    .option("--states <n>", "start states along the trajectory", parseIntOption("states", 1), 3)
    .option("--spacing <n>", "steps between start states", parseIntOption("spacing", 1), 20)
    .option("--batches <n>", "single steps measured per start state", parseIntOption("batches", 1), 3)
    .option("-k, --interval <n>", "interval length for the k-step drift (default: the job's k)", parseIntOption("interval", 1))
    .option("--factor <n>", "safety factor over the worst drift", parseIntOption("factor", 1), 10)
    .action(async (o: { job: string; states: number; spacing: number; batches: number; interval?: number; factor: number }) => {
      const c = ctx();
      const job = await loadJob(o.job);
      const bar = c.progress(1, "calibrate");
      const r = await calibrate({
        graph: job.graph, initialState: job.initialState, batches: job.batches, hp: job.job.hp,
        states: o.states, spacing: o.spacing, batchesPerState: o.batches, k: o.interval ?? job.job.k, factor: o.factor,
        onProgress: (d, t) => { bar.update(d / t); },
      });
      bar.stop();
      const worst = (kind: "step" | "interval", s: string) => {
        const ms = r.measurements.filter((m) => m.kind === kind && m.setting === s);
        return `${ms.every((m) => m.identical) ? "bit-identical" : `max ‖a−b‖/‖a−S‖ ${Math.max(...ms.map((m) => m.relUpdate)).toExponential(2)}`}`;
      };
      c.result(r, () => [
        `reference ${r.reference}; compared ${r.settings.join(", ")}${r.skippedSettings.length ? `; skipped ${r.skippedSettings.map((s) => s.label).join(", ")}` : ""}`,
        ...r.settings.map((s) => `  ${s.padEnd(28)} step: ${worst("step", s)}; interval: ${worst("interval", s)}`),
        `recommended  deltaUpd=${r.recommended.deltaUpd} deltaUlp=${r.recommended.deltaUlp} deltaKUpd=${r.recommended.deltaKUpd} deltaKUlp=${r.recommended.deltaKUlp}`,
        `honest worst ratio  step ${r.worstHonestStepRatio.toExponential(2)}  interval ${r.worstHonestIntervalRatio.toExponential(2)}`,
        `cheats (ratio under the recommended single-step bounds; > 1 convicts):`,
        ...r.cheats.map((x) => `  ${x.cheat.padEnd(20)} step ${String(x.step).padStart(4)}  ratio ${x.ratio.toExponential(2)}  ${x.convicted ? "CONVICTED" : "passed (!)"}  (${x.worstTensor})`),
      ].join("\n"));
    });
}
