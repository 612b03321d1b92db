/**
 * `npm run demo` (= `hardhat run scripts/demo.ts`): the whole protocol on the in-process network
 * with the real worker and verifier daemons. Exits non-zero when an expected outcome is missing.
 * Options (env): DEMO_STEPS (T, 40), DEMO_K (8), DEMO_BATCH (32), DEMO_BATCHES (T), DEMO_HIDDEN
 * ("32" or "128,64"), DEMO_OPTIMIZER (sgd|momentum|adam), DEMO_VERIFIERS (5), DEMO_CHEAT
 * ("skip=0.4", "noise=0.01"), DEMO_TIMEOUT (s per wait, 240), DEMO_VERBOSE=1 (every log line).
 * A longer, bigger job: DEMO_STEPS=400 DEMO_K=40 DEMO_HIDDEN=128,64 DEMO_OPTIMIZER=adam npm run demo
 */
import hre from "hardhat";
import { defaultDemoOptions, runDemo, type DemoOptions } from "./lib/demo/runDemo";

function int(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  if (!/^[0-9]+$/.test(v)) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

function options(): Partial<DemoOptions> {
  const d = defaultDemoOptions();
  const totalSteps = int("DEMO_STEPS", d.totalSteps);
  const hidden = process.env.DEMO_HIDDEN ? process.env.DEMO_HIDDEN.split(",").map((s) => Number(s)) : d.hidden;
  if (hidden.some((h) => !Number.isSafeInteger(h) || h <= 0)) throw new Error("DEMO_HIDDEN must be comma-separated positive widths");
  const optimizer = (process.env.DEMO_OPTIMIZER ?? d.optimizer) as DemoOptions["optimizer"];
  if (!["sgd", "momentum", "adam"].includes(optimizer)) throw new Error("DEMO_OPTIMIZER must be sgd, momentum or adam");
  return {
    totalSteps,
    checkpointInterval: int("DEMO_K", d.checkpointInterval),
    batchSize: int("DEMO_BATCH", d.batchSize),
    numBatches: int("DEMO_BATCHES", Math.min(totalSteps, 64)),
    hidden,
    optimizer,
    verifiers: int("DEMO_VERIFIERS", d.verifiers),
    cheat: process.env.DEMO_CHEAT ?? d.cheat,
    phaseTimeoutSec: int("DEMO_TIMEOUT", d.phaseTimeoutSec),
    verbose: process.env.DEMO_VERBOSE === "1",
  };
}

async function main(): Promise<void> {
  const result = await runDemo(hre, options());
  if (!result.ok) {
    console.error("\nDEMO FAILED: some expected outcome did not happen (see ✘ above)");
    process.exitCode = 1;
  } else {
    console.log("\nDEMO OK: honest work paid, cheating slashed");
  }
}

main().catch((e: unknown) => {
  console.error(`\nDEMO FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
