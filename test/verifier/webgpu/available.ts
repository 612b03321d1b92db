/**
 * Whether the WebGPU EP runs here (issue 19: a second execution backend in every CI run). CI runs
 * scripts/setup-webgpu.sh before the tests; it installs Mesa's lavapipe (software Vulkan) and
 * writes `.upow/webgpu-status`. WebGPU tests skip, with the reason printed, only when the EP does
 * not run *and* the script did not claim to have installed it; if the script says `installed`
 * and the EP still fails, that is a failure, not a skip.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildStepGraph, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner, epFailureReason } from "../../../verifier/engine/runner";

export const WEBGPU_STATUS_FILE = process.env.UPOW_WEBGPU_STATUS ?? path.join(__dirname, "..", "..", "..", ".upow", "webgpu-status");

let cached: Promise<string | null> | undefined;

/** null when a WebGPU session opens and runs; otherwise the reason it does not. */
export function webGpuProblem(): Promise<string | null> {
  cached ??= (async () => {
    const spec: ModelSpec = { layers: [2, 2], activation: "relu", optimizer: "sgd" };
    try {
      const r = await StepRunner.create({ graph: buildStepGraph(spec), ep: "webgpu" });
      await r.dispose();
      return null;
    } catch (e) {
      const d = (e as { details?: { reason?: string } }).details;
      return d?.reason ?? epFailureReason(e);
    }
  })();
  return cached;
}

function setupStatus(): string {
  try {
    return readFileSync(WEBGPU_STATUS_FILE, "utf8").trim();
  } catch {
    return "missing (scripts/setup-webgpu.sh was not run)";
  }
}

/** In a `before` hook: returns when WebGPU runs; skips the suite (printing why) or fails as described above. */
export async function requireWebGpu(ctx: Mocha.Context): Promise<void> {
  const problem = await webGpuProblem();
  if (problem === null) return;
  const status = setupStatus();
  if (status.startsWith("installed")) {
    throw new Error(`scripts/setup-webgpu.sh reported WebGPU installed (${WEBGPU_STATUS_FILE}) but the WebGPU EP fails: ${problem}`);
  }
  console.log(`      skipped: the WebGPU EP is unavailable here (${problem}); setup-webgpu status: ${status}`);
  ctx.skip();
}
