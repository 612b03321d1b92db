/** `upow worker start`: runs the worker daemon until SIGINT/SIGTERM (docs/worker.md). */
import type { Command } from "commander";
import { workerStartCommand } from "../../worker/config";
import { runWorker } from "../../worker/service";
import { runUntilSignal } from "../../runtime/signals";

export function registerWorker(program: Command): void {
  const worker = program.command("worker").description("worker node: claim jobs, train them, submit, get paid");
  worker.addCommand(
    workerStartCommand((config, logger) => runUntilSignal((signal) => runWorker(config, { signal, logger }))),
  );
}
