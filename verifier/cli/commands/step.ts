/** `upow step`: one training step of a job from a given state (what a juror re-executes). */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { StepRunner, type ExecutionProviderName, type GraphOptimizationLevel } from "../../engine/runner";
import { singleStep } from "../../engine/step";
import { batchFileName, batchOrder } from "../../engine/data";
import { epOption, parseIntOption, type CliContext } from "../context";
import { loadJob, loadStateFile } from "../jobfiles";

export function registerStep(program: Command, ctx: () => CliContext): void {
  program
    .command("step")
    .description("run global step t of a job from a state file and write the next state")
    .requiredOption("--job <file>", "job file")
    .requiredOption("--state <file>", "state before the step (S_t)")
    .requiredOption("--step <t>", "global step index t (selects the batch)", parseIntOption("step", 0))
    .requiredOption("-o, --out <file>", "where to write S_{t+1}")
    .addOption(epOption())
    .option("--threads <n>", "onnxruntime intra-op threads", parseIntOption("threads", 1), 1)
    .option("--opt-level <level>", "graph optimisation: disabled | basic | extended | all", "all")
    .action(
      async (o: {
        job: string;
        state: string;
        step: number;
        out: string;
        ep: ExecutionProviderName;
        threads: number;
        optLevel: string;
      }) => {
        const c = ctx();
        const job = await loadJob(o.job);
        const { state, hash } = await loadStateFile(o.state);
        const runner = await StepRunner.create({
          graph: job.graph,
          ep: o.ep,
          threads: o.threads,
          optLevel: o.optLevel as GraphOptimizationLevel,
        });
        try {
          const r = await singleStep(runner, state, await job.batches(o.step), job.job.hp);
          await writeFile(o.out, r.bytes);
          const batchFile = batchFileName(batchOrder(job.job.seed, job.job.data.numBatches, o.step));
          c.result(
            { step: o.step, ep: o.ep, before: hash, after: r.stateHash, loss: r.loss, out: o.out, batchFile },
            () => `step ${o.step}: ${hash} → ${r.stateHash} (loss ${r.loss.toFixed(5)}) → ${o.out}`,
          );
        } finally {
          await runner.dispose();
        }
      },
    );
}
