/** `upow worker start`: runs the worker daemon until SIGINT/SIGTERM (docs/worker.md). */
import type { Command } from "commander";
import { addWorkerOptions, configFromCli, type WorkerCliOptions } from "../../worker/config";
import { runWorker } from "../../worker/service";

export function registerWorker(program: Command): void {
  const worker = program.command("worker").description("worker node: claim jobs, train them, submit, get paid");
  addWorkerOptions(
    worker
      .command("start")
      .description("watch the JobMarket, claim jobs this machine accepts, train, submit, answer disputes, finalize and withdraw"),
  ).action(async (opts: WorkerCliOptions) => {
    const config = configFromCli(opts);
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      await runWorker(config, { signal: ac.signal });
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  });
}
