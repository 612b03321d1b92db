/** `upow worker start`: runs the worker daemon until SIGINT/SIGTERM (docs/worker.md). */
import type { Command } from "commander";
import { workerStartCommand } from "../../worker/config";
import { runWorker } from "../../worker/service";

export function registerWorker(program: Command): void {
  const worker = program.command("worker").description("worker node: claim jobs, train them, submit, get paid");
  worker.addCommand(
    workerStartCommand(async (config, logger) => {
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await runWorker(config, { signal: ac.signal, logger });
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    }),
  );
}
