/** `upow worker start`: runs the worker daemon until SIGINT/SIGTERM (docs/worker.md). */
import type { Command } from "commander";
import { workerStartCommand } from "./workerStart";
import { withCheat } from "../../worker/adversary";
import { runWorker } from "../../worker/service";
import { runUntilSignal } from "../../runtime/signals";

export function registerWorker(program: Command): void {
  const worker = program.command("worker").description("worker node: claim jobs, train them, submit, get paid");
  worker.addCommand(
    // `--cheat` (tests, the demo): the adversarial behaviour is wired here, never inside the worker.
    workerStartCommand((config, logger, cheat) =>
      runUntilSignal((signal) => runWorker(config, { signal, logger, ...(cheat ? { behaviour: withCheat(cheat) } : {}) })),
    ),
  );
}
