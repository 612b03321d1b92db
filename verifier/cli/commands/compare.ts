/** `upow compare`: the §10.3 per-tensor tolerance check between a recomputed and a claimed state. */
import type { Command } from "commander";
import { compareStates, type ToleranceBounds } from "../../engine/tolerance";
import { parseFloatOption, readJson, type CliContext } from "../context";
import { DEFAULT_TOLERANCE, loadStateFile, type JobFile } from "../jobfiles";

export function registerCompare(program: Command, ctx: () => CliContext): void {
  program
    .command("compare")
    .description("compare a claimed state b with a recomputed state a, relative to the update from the start state (§10.3)")
    .requiredOption("--before <file>", "start state S (before the step or interval)")
    .requiredOption("--a <file>", "recomputed state a")
    .requiredOption("--b <file>", "claimed state b (the worker's)")
    .option("--job <file>", "take the bounds from this job file")
    .option("--interval", "use the k-step bounds (δ_k) instead of the single-step ones")
    .option("--delta-upd <x>", "δ_upd (overrides the job)", parseFloatOption("delta-upd"))
    .option("--delta-ulp <x>", "δ_ulp (overrides the job)", parseFloatOption("delta-ulp"))
    .action(async (o: { before: string; a: string; b: string; job?: string; interval?: boolean; deltaUpd?: number; deltaUlp?: number }) => {
      const c = ctx();
      const tol = o.job ? (await readJson<JobFile>(o.job, "job file")).tolerance : DEFAULT_TOLERANCE;
      const bounds: ToleranceBounds = {
        deltaUpd: o.deltaUpd ?? (o.interval ? tol.deltaKUpd : tol.deltaUpd),
        deltaUlp: o.deltaUlp ?? (o.interval ? tol.deltaKUlp : tol.deltaUlp),
      };
      const [s, a, b] = await Promise.all([loadStateFile(o.before, "--before"), loadStateFile(o.a, "--a"), loadStateFile(o.b, "--b")]);
      const r = compareStates(s.state, a.state, b.state, bounds);
      c.result(r, () =>
        [
          `${r.convict ? "CONVICT" : "PASS"}: worst ratio ${fmt(r.worstRatio)}${r.worstTensor ? ` (${r.worstTensor})` : ""}; δ_upd=${bounds.deltaUpd} δ_ulp=${bounds.deltaUlp}`,
          ...r.tensors.map(
            (t) =>
              `  ${t.verdict.padEnd(18)} ${t.name.padEnd(28)} distance ${fmt(t.distance)}  bound ${fmt(t.bound)}  ratio ${fmt(t.ratio)}`,
          ),
        ].join("\n"),
      );
      if (r.convict) process.exitCode = 4;
    });
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(3) : String(x);
}
