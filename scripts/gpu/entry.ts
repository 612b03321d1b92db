/**
 * Entry of the single-file bundle that `scripts/gpu/pack.sh` builds for machines without Node.js or
 * node_modules (the GPU device machine): the engine commands only (model, job, train, step, replay,
 * compare, calibrate), none of the chain, store or worker code.
 */
import { Command } from "commander";
import { UPowError } from "../../verifier/errors";
import { makeContext, type CliContext, type GlobalOptions } from "../../verifier/cli/context";
import { registerModel } from "../../verifier/cli/commands/model";
import { registerJob } from "../../verifier/cli/commands/job";
import { registerTrain } from "../../verifier/cli/commands/train";
import { registerStep } from "../../verifier/cli/commands/step";
import { registerReplay } from "../../verifier/cli/commands/replay";
import { registerCompare } from "../../verifier/cli/commands/compare";
import { registerCalibrate } from "../../verifier/cli/commands/calibrate";
import * as ort from "onnxruntime-node";

function buildEngineProgram(): Command {
  const program = new Command("upow-gpu")
    .description("uPoW engine commands (bundled for GPU machines; docs/gpu.md)")
    .option("--json", "print results as JSON on stdout")
    .option("-q, --quiet", "no progress bars, warnings only in logs")
    .option("--log-level <level>", "pino log level for stderr")
    .showHelpAfterError()
    .exitOverride();
  let ctx: CliContext | undefined;
  const getCtx = (): CliContext => (ctx ??= makeContext(program.opts<GlobalOptions>()));
  for (const r of [registerModel, registerJob, registerTrain, registerStep, registerReplay, registerCompare, registerCalibrate])
    r(program, getCtx);
  program
    .command("backends")
    .description("print the execution providers this onnxruntime-node build lists")
    .action(() => {
      process.stdout.write(
        `${JSON.stringify({ ort: ort.env.versions, backends: ort.listSupportedBackends(), node: process.version }, null, 1)}\n`,
      );
    });
  return program;
}

async function run(argv: readonly string[]): Promise<void> {
  const program = buildEngineProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.help" || code === "commander.version") return;
    if (typeof code === "string" && code.startsWith("commander.")) {
      process.exitCode = 2;
      return;
    }
    if (e instanceof UPowError) {
      const json = program.opts<GlobalOptions>().json === true;
      const out = { error: e.name, message: e.shortMessage, details: e.details };
      process.stderr.write(json ? `${JSON.stringify(out)}\n` : `error: ${e.name}: ${e.message}\n`);
    } else {
      process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
    process.exitCode = 1;
  }
}

void run(process.argv);
