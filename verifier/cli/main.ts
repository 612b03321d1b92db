/**
 * `upow` CLI. `buildProgram()` returns the commander program with every group of COMMANDS
 * registered: this list is the one place a command is registered, the daemons' `worker start` and
 * `verifier start` included. Each group lives in its own file under commands/ and exports
 * `registerX(program, ctx)`; the shared context is built on first use.
 */
import { Command } from "commander";
import { UPowError } from "../errors";
import { makeContext, type CliContext, type GlobalOptions } from "./context";
import { registerModel } from "./commands/model";
import { registerData } from "./commands/data";
import { registerJob } from "./commands/job";
import { registerTrain } from "./commands/train";
import { registerStep } from "./commands/step";
import { registerReplay } from "./commands/replay";
import { registerCompare } from "./commands/compare";
import { registerCalibrate } from "./commands/calibrate";
import { registerWorker } from "./commands/worker";
import { registerStore } from "./commands/store";
import { registerKey } from "./commands/key";
import { registerVerifier } from "./commands/verifier";
import { registerStatus } from "./commands/status";
import { registerWithdraw } from "./commands/withdraw";
import { registerDashboard } from "./commands/dashboard";

/** A command group: adds its commands to the program; reads the shared context lazily. */
export type CommandRegistrar = (program: Command, ctx: () => CliContext) => void;

const COMMANDS: CommandRegistrar[] = [
  registerModel,
  registerData,
  registerJob,
  registerTrain,
  registerStep,
  registerReplay,
  registerCompare,
  registerCalibrate,
  registerStore,
  registerWorker,
  registerVerifier,
  registerKey,
  registerStatus,
  registerWithdraw,
  registerDashboard,
];

export function buildProgram(extra: readonly CommandRegistrar[] = []): Command {
  const program = new Command("upow")
    .description("uPoW training engine: build step graphs, train with committed checkpoints, replay, compare, calibrate")
    .option("--json", "print results as JSON on stdout")
    .option("-q, --quiet", "no progress bars, warnings only in logs")
    .option("--log-level <level>", "pino log level for stderr (trace, debug, info, warn, error)")
    .showHelpAfterError()
    .exitOverride();
  let ctx: CliContext | undefined;
  const getCtx = (): CliContext => (ctx ??= makeContext(program.opts<GlobalOptions>()));
  for (const r of [...COMMANDS, ...extra]) r(program, getCtx);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help") return;
    if (typeof code === "string" && code.startsWith("commander.")) {
      process.exitCode = 2;
      return;
    }
    const json = program.opts<GlobalOptions>().json === true;
    if (e instanceof UPowError) {
      const out = { error: e.name, message: e.shortMessage, details: e.details };
      process.stderr.write(json ? `${JSON.stringify(out)}\n` : `error: ${e.name}: ${e.message}\n`);
    } else {
      process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
    process.exitCode = 1;
  }
}
