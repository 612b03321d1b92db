/** `upow calibrate`: honest drift between execution settings → recommended δ bounds; cheats' ratios. */
import type { Command } from "commander";
import { DELTA_K_PROCEDURE, availableSettings, calibrate } from "../../engine/calibrate";
import { EXECUTION_PROVIDERS, type ExecutionProviderName } from "../../engine/runner";
import { parseEpList, parseIntOption, type CliContext } from "../context";
import { loadJob } from "../jobfiles";

export function registerCalibrate(program: Command, ctx: () => CliContext): void {
  program
    .command("calibrate")
    .description(
      "measure honest drift (threads, graph optimisation, WebGPU/CUDA where they run), recommend δ_upd/δ_ulp/δ_k, show cheats fail",
    )
    .requiredOption("--job <file>", "job file (graph, initial state, batches, hyperparameters)")
    .option("--states <n>", "start states along the trajectory", parseIntOption("states", 1), DELTA_K_PROCEDURE.states)
    .option("--spacing <n>", "steps between start states", parseIntOption("spacing", 1), DELTA_K_PROCEDURE.spacing)
    .option("--batches <n>", "single steps measured per start state", parseIntOption("batches", 1), 3)
    .option("-k, --interval <n>", "interval length for the k-step drift (default: the job's k)", parseIntOption("interval", 1))
    .option("--factor <n>", "safety factor over the worst drift", parseIntOption("factor", 1), DELTA_K_PROCEDURE.factor)
    .option(
      "--ep <list>",
      "EPs whose settings are compared with the cpu/threads=1 reference; unavailable ones are skipped with the reason",
      parseEpList,
      [...EXECUTION_PROVIDERS],
    )
    .action(
      async (o: {
        job: string;
        states: number;
        spacing: number;
        batches: number;
        interval?: number;
        factor: number;
        ep: ExecutionProviderName[];
      }) => {
        const c = ctx();
        const job = await loadJob(o.job);
        const bar = c.progress(1, "calibrate");
        const r = await calibrate({
          graph: job.graph,
          initialState: job.initialState,
          batches: job.batches,
          hp: job.job.hp,
          states: o.states,
          spacing: o.spacing,
          batchesPerState: o.batches,
          k: o.interval ?? job.job.k,
          factor: o.factor,
          settings: availableSettings(o.ep),
          onProgress: (d, t) => {
            bar.update(d / t);
          },
        });
        bar.stop();
        const worst = (kind: "step" | "interval", s: string) => {
          const ms = r.measurements.filter((m) => m.kind === kind && m.setting === s);
          return `${ms.every((m) => m.identical) ? "bit-identical" : `max ‖a−b‖/‖a−S‖ ${Math.max(...ms.map((m) => m.relUpdate)).toExponential(2)}`}`;
        };
        c.result(r, () =>
          [
            `reference ${r.reference}`,
            `compared (${r.settings.length}):`,
            ...r.settings.map((s) => `  ${s.padEnd(28)} step: ${worst("step", s)}; interval: ${worst("interval", s)}`),
            `skipped (${r.skippedSettings.length}):${r.skippedSettings.length === 0 ? " none" : ""}`,
            ...r.skippedSettings.flatMap((s) => [
              `  ${s.label.padEnd(28)} ${s.reason}`,
              ...(s.hint ? [`  ${"".padEnd(28)} → ${s.hint}`] : []),
            ]),
            `procedure ${r.procedure}${o.states === DELTA_K_PROCEDURE.states && o.spacing === DELTA_K_PROCEDURE.spacing && o.factor === DELTA_K_PROCEDURE.factor && o.interval === undefined ? "" : " (NOT pinned: states/spacing/factor/k changed)"}`,
            `recommended  deltaUpd=${r.recommended.deltaUpd} deltaUlp=${r.recommended.deltaUlp} deltaKUpd=${r.recommended.deltaKUpd} deltaKUlp=${r.recommended.deltaKUlp}`,
            `honest worst ratio  step ${r.worstHonestStepRatio.toExponential(2)}  interval ${r.worstHonestIntervalRatio.toExponential(2)}`,
            `cheats (ratio under the recommended single-step bounds; > 1 convicts):`,
            ...r.cheats.map(
              (x) =>
                `  ${x.cheat.padEnd(20)} step ${String(x.step).padStart(4)}  ratio ${x.ratio.toExponential(2)}  ${x.convicted ? "CONVICTED" : "passed (!)"}  (${x.worstTensor})`,
            ),
          ].join("\n"),
        );
      },
    );
}
