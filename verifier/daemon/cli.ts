/**
 * `upow verifier start`: registered into the CLI with `buildProgram([registerVerifier])` (or by
 * adding it to the CLI's COMMANDS list). Runs until SIGINT/SIGTERM, then shuts down cleanly.
 */
import { Command } from "commander";
import type { CliContext } from "../cli/context";
import { verifierStartCommand } from "./config";
import { runVerifier } from "./service";
import { runUntilSignal } from "../cli/daemonOptions";

export function registerVerifier(program: Command, _ctx: () => CliContext): void {
  const group = new Command("verifier").description("verifier daemon: audits, challenges, jury duty (docs/verifier.md)");
  group.addCommand(
    verifierStartCommand((config, logger) => runUntilSignal((signal) => runVerifier(config, { signal, logger }))),
  );
  program.addCommand(group);
}
