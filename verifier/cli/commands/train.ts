/** `upow train`: train a job, committing to every step; resumable; prints the checkpoint root and test accuracy. */
import path from "node:path";
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { evaluateMlp } from "../../engine/evaluate";
import { StepRunner, type ExecutionProviderName } from "../../engine/runner";
import { train } from "../../engine/trainer";
import { epOption, parseIntOption, type CliContext } from "../context";
import { loadJob } from "../jobfiles";

export function registerTrain(program: Command, ctx: () => CliContext): void {
  program
    .command("train")
    .description("train a job: hashes every step, keeps checkpoints every k steps in --out, resumes after a crash")
    .requiredOption("--job <file>", "job file from `upow job manifest`")
    .requiredOption("-o, --out <dir>", "checkpoint directory (resumed when it holds a partial run of this job)")
    .addOption(epOption())
    .option("--threads <n>", "onnxruntime intra-op threads", parseIntOption("threads", 1), 1)
    .option("--keep-step-states", "keep every step's state, not just checkpoints")
    .option("--no-self-check", "skip the determinism self-check at each checkpoint")
    .option("--no-eval", "skip the test-set evaluation at the end")
    .action(
      async (o: {
        job: string;
        out: string;
        ep: ExecutionProviderName;
        threads: number;
        keepStepStates?: boolean;
        selfCheck: boolean;
        eval: boolean;
      }) => {
        const c = ctx();
        const job = await loadJob(o.job);
        const runner = await StepRunner.create({ graph: job.graph, ep: o.ep, threads: o.threads });
        const bar = c.progress(job.job.T, "train");
        const started = Date.now();
        const curve: { step: number; loss: number }[] = [];
        let window = 0;
        let count = 0;
        const every = Math.max(1, Math.floor(job.job.T / 20));
        try {
          const r = await train({
            runner,
            initialState: job.initialState,
            batches: job.batches,
            hp: job.job.hp,
            T: job.job.T,
            k: job.job.k,
            dir: o.out,
            jobId: job.jobHash,
            keepStepStates: o.keepStepStates === true,
            selfCheck: o.selfCheck,
            onProgress: (p) => {
              window += p.loss;
              count++;
              if (p.step % every === 0 || p.step === p.T) {
                curve.push({ step: p.step, loss: window / count });
                c.log.debug({ step: p.step, loss: window / count }, "progress");
                window = 0;
                count = 0;
              }
              bar.update(p.step, { loss: p.loss.toFixed(4) });
            },
          });
          bar.stop();
          const seconds = (Date.now() - started) / 1000;
          const evaluation = o.eval ? evaluateMlp(job.job.spec, r.finalState, await job.loadTestSet()) : null;
          const summary = {
            checkpointRoot: r.checkpointRoot,
            n: r.n,
            initialStateHash: r.initialStateHash,
            finalStateHash: r.finalStateHash,
            ep: o.ep,
            proofFirst: r.proofFirst,
            proofLast: r.proofLast,
            resumedFrom: r.resumedFrom,
            seconds,
            stepsPerSecond: r.resumedFrom === null ? job.job.T / seconds : undefined,
            lossCurve: curve,
            testAccuracy: evaluation?.accuracy,
            testLoss: evaluation?.loss,
            testCount: evaluation?.count,
          };
          await writeFile(path.join(o.out, "result.json"), JSON.stringify(summary, null, 1));
          c.log.info({ checkpointRoot: r.checkpointRoot, seconds }, "training done");
          c.result(summary, () =>
            [
              `trained T=${job.job.T} k=${job.job.k} on ${o.ep} in ${seconds.toFixed(1)} s${r.resumedFrom !== null ? ` (resumed from checkpoint ${r.resumedFrom})` : ""}`,
              `  checkpoint root   ${r.checkpointRoot} (n=${r.n})`,
              `  final state hash  ${r.finalStateHash}`,
              `  loss curve        ${curve.map((x) => x.loss.toFixed(3)).join(" ")}`,
              ...(evaluation
                ? [
                    `  test accuracy     ${(evaluation.accuracy * 100).toFixed(2)}% on ${evaluation.count} digits (loss ${evaluation.loss.toFixed(4)})`,
                  ]
                : []),
            ].join("\n"),
          );
        } finally {
          bar.stop();
          await runner.dispose();
        }
      },
    );
}
