/** `upow replay`: re-run an interval from its stored checkpoint and check it bit for bit against the commitments. */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { readCheckpointIndex } from "../../engine/checkpoints";
import { replay } from "../../engine/replay";
import { StepRunner, type ExecutionProviderName } from "../../engine/runner";
import { CliError, epOption, parseIntOption, type CliContext } from "../context";
import { loadJob } from "../jobfiles";
import { encodeState } from "../../engine/step";

export function registerReplay(program: Command, ctx: () => CliContext): void {
  program
    .command("replay")
    .description("replay interval i (steps i·k .. (i+1)·k) from checkpoint i and compare hashes with the run's index")
    .requiredOption("--job <file>", "job file")
    .requiredOption("--run <dir>", "checkpoint directory of `upow train`")
    .requiredOption("-i, --interval <i>", "interval index (0 .. n-2)", parseIntOption("interval", 0))
    .addOption(epOption())
    .option("--threads <n>", "onnxruntime intra-op threads", parseIntOption("threads", 1), 1)
    .option("-o, --out <file>", "also write the replayed end state")
    .action(async (o: { job: string; run: string; interval: number; ep: ExecutionProviderName; threads: number; out?: string }) => {
      const c = ctx();
      const job = await loadJob(o.job);
      const { store, index } = await readCheckpointIndex(o.run);
      const iv = index.intervals[o.interval];
      if (!iv)
        throw new CliError("no such completed interval in the run", {
          details: { interval: o.interval, completed: index.intervals.length },
        });
      const ck = index.checkpoints[o.interval]!;
      const start = await store.loadState(ck.file, ck.stateHash);
      const runner = await StepRunner.create({ graph: job.graph, ep: o.ep, threads: o.threads });
      try {
        const bar = c.progress(job.job.k, `replay ${o.interval}`);
        let done = 0;
        const r = await replay({
          runner,
          state: start,
          startStep: o.interval * job.job.k,
          k: job.job.k,
          batches: job.batches,
          hp: job.job.hp,
          onState: () => bar.update(++done),
        });
        bar.stop();
        if (o.out) await writeFile(o.out, encodeState(r.finalState));
        const firstDiff = r.stateHashes.findIndex((h, j) => h !== iv.stateHashes[j]);
        const match = firstDiff === -1 && r.stepRoot === iv.stepRoot;
        const out = {
          interval: o.interval,
          match,
          stepRoot: r.stepRoot,
          committedStepRoot: iv.stepRoot,
          finalStateHash: r.finalStateHash,
          committedStateHash: index.checkpoints[o.interval + 1]!.stateHash,
          firstDifferentStep: firstDiff === -1 ? null : o.interval * job.job.k + firstDiff,
        };
        c.result(out, () =>
          match
            ? `interval ${o.interval}: replay matches bit for bit\n  step root  ${r.stepRoot}\n  end state  ${r.finalStateHash}`
            : `interval ${o.interval}: MISMATCH from global step ${out.firstDifferentStep}\n  replayed step root  ${r.stepRoot}\n  committed           ${iv.stepRoot}`,
        );
        if (!match) process.exitCode = 3;
      } finally {
        await runner.dispose();
      }
    });
}
