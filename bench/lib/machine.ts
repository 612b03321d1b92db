/** The machine, date, commit and runtime versions every result file records. */
import { execFileSync } from "node:child_process";
import os from "node:os";
import * as ort from "onnxruntime-node";

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly availableParallelism: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly onnxruntime: string;
  readonly ortBackends: string[];
  readonly gpu: string;
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly loadAverageAtStart: number[];
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const backends = ort.listSupportedBackends().map((b) => b.name);
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    ortBackends: backends,
    gpu: backends.some((b) => b !== "cpu")
      ? `EPs listed besides cpu: ${backends.filter((b) => b !== "cpu").join(", ")}`
      : "none (cpu EP only)",
    date: new Date().toISOString(),
    commit: git(["rev-parse", "--short=12", "HEAD"]),
    // Result files rewritten by an earlier run do not make the code dirty.
    dirty: git(["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results"]) !== "",
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
