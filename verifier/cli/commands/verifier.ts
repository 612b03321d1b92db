/** `upow verifier start`: runs the verifier daemon until SIGINT/SIGTERM (docs/verifier.md). */
import type { Command } from "commander";
import { verifierStartCommand } from "./verifierStart";
import { runVerifier } from "../../daemon/service";
import { runUntilSignal } from "../../runtime/signals";

export function registerVerifier(program: Command): void {
  const verifier = program.command("verifier").description("verifier daemon: audits, challenges, jury duty (docs/verifier.md)");
  verifier.addCommand(verifierStartCommand((config, logger) => runUntilSignal((signal) => runVerifier(config, { signal, logger }))));
}
