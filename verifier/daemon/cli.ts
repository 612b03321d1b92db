/**
 * `upow verifier start`: registered into the CLI with `buildProgram([registerVerifier])` (or by
 * adding it to the CLI's COMMANDS list). Runs until SIGINT/SIGTERM, then shuts down cleanly.
 */
import { Command } from "commander";
import type { CliContext } from "../cli/context";
import { verifierStartCommand } from "./config";
import { runVerifier } from "./service";

export function registerVerifier(program: Command, _ctx: () => CliContext): void {
  const group = new Command("verifier").description("verifier daemon: audits, challenges, jury duty (docs/verifier.md)");
  group.addCommand(
    verifierStartCommand(async (config, logger) => {
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await runVerifier(config, { signal: ac.signal, logger });
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    }),
  );
  program.addCommand(group);
}
