/**
 * Child processes for the end-to-end tests: each command runs through bash in its own process
 * group (so `npx` and the node it starts die together), its output goes to a log file, and
 * `stopAll` ends every group that is still alive, also when a test failed half way.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface Proc {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the group leader exits. */
  readonly exited: Promise<number | null>;
  exitCode(): number | null | undefined;
}

export class ProcessError extends Error {
  override readonly name = "ProcessError";
}

/** Every group started by any Processes object and not yet stopped: killed if the test runner itself exits or is interrupted. */
const live = new Set<number>();
let exitHooked = false;

function killLiveGroups(): void {
  for (const pgid of live) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", killLiveGroups);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killLiveGroups();
      process.kill(process.pid, sig);
    });
  }
}

export class Processes {
  private readonly procs: Proc[] = [];
  private counter = 0;

  constructor(
    private readonly logDir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    hookExit();
  }

  /** Starts `command` (bash) in the repository root, in a new process group, logging to `<logDir>/<name>.log`. */
  start(name: string, command: string): Proc {
    const logFile = path.join(this.logDir, `${String(++this.counter).padStart(2, "0")}-${name}.log`);
    const fd = fs.openSync(logFile, "a");
    fs.writeSync(fd, `$ ${command}\n`);
    const child = spawn("bash", ["-c", command], { cwd: REPO_ROOT, env: this.env, detached: true, stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    if (child.pid !== undefined) live.add(child.pid);
    let code: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (c) => {
        code = c;
        resolve(c);
      });
      child.once("error", () => {
        code = null;
        resolve(null);
      });
    });
    const p: Proc = { name, logFile, child, exited, exitCode: () => code };
    this.procs.push(p);
    return p;
  }

  /** Runs `command` to completion; throws (with its log) when it fails or outlasts `timeoutMs`. */
  async run(name: string, command: string, timeoutMs: number): Promise<string> {
    const p = this.start(name, command);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const r = await Promise.race([p.exited, timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      this.signal(p, "SIGKILL");
      throw new ProcessError(`${name} did not finish within ${timeoutMs} ms:\n${tail(p.logFile)}`);
    }
    if (r !== 0) throw new ProcessError(`${name} exited with ${String(r)}:\n${tail(p.logFile)}`);
    return fs.readFileSync(p.logFile, "utf8");
  }

  /** Sends `signal` to the whole group of `p` (no-op once it is gone). */
  signal(p: Proc, signal: NodeJS.Signals): void {
    if (p.child.pid === undefined || p.exitCode() !== undefined) return;
    try {
      process.kill(-p.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`, and waits for the group leader to exit. */
  async stop(p: Proc, graceMs = 10_000): Promise<void> {
    this.signal(p, "SIGTERM");
    const killer = setTimeout(() => this.signal(p, "SIGKILL"), graceMs);
    await p.exited;
    clearTimeout(killer);
    // Children that outlived bash (still in the group) go too.
    if (p.child.pid !== undefined) {
      try {
        process.kill(-p.child.pid, "SIGKILL");
      } catch {
        // Nothing left.
      }
      live.delete(p.child.pid);
    }
  }

  /** Ends every group this object started, also those whose leader already exited. */
  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => this.stop(p, 5_000)));
  }

  /** Every log file's tail, for a failed test. */
  dump(lines = 40): string {
    return this.procs
      .map((p) => `----- ${p.name} (${p.logFile}, exit ${String(p.exitCode())}) -----\n${tail(p.logFile, lines, RPC_TRACE)}`)
      .join("\n");
  }

  get all(): readonly Proc[] {
    return this.procs;
  }
}

/** `hardhat node`'s per-request trace (method names and call details), left out of dumps. */
const RPC_TRACE =
  /^(\x1b\[\d+m)?(eth|net|evm|hardhat|web3)_\w+( \(\d+\))?(\x1b\[\d+m)?$|^\s+(Contract call|From|To|Value|Gas used|Block #\d+|Transaction):|^\s*$/;

export function tail(file: string, lines = 60, skip?: RegExp): string {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => skip === undefined || !skip.test(l))
      .slice(-lines)
      .join("\n");
  } catch {
    return "(no log)";
  }
}

/** Polls the log of `p` until `re` matches a line; throws when `p` exits first or after `timeoutMs`. */
export async function waitForLog(p: Proc, re: RegExp, timeoutMs: number, from = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.readFileSync(p.logFile, "utf8").slice(from);
    const line = text.split("\n").find((l) => re.test(l));
    if (line !== undefined) return line;
    if (p.exitCode() !== undefined)
      throw new ProcessError(`${p.name} exited (${String(p.exitCode())}) before logging ${re}:\n${tail(p.logFile)}`);
    if (Date.now() > deadline) throw new ProcessError(`${p.name} did not log ${re} within ${timeoutMs} ms:\n${tail(p.logFile)}`);
    await sleep(250);
  }
}

export function logSize(p: Proc): number {
  return fs.statSync(p.logFile).size;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value other than undefined (an error it throws ends the wait); throws `what` after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new ProcessError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** An environment without the caller's UPOW_* and key variables, so nothing leaks into the flow. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      k.startsWith("UPOW_") ||
      k.startsWith("HARDHAT_") ||
      k.startsWith("TS_NODE_") ||
      ["FAST_FORWARD", "FORCE", "DEPLOY_CONFIG", "DEPLOYER_KEY", "REQUESTER_KEY", "RPC_URL", "LOCALHOST_RPC_URL", "NETWORK"].includes(k)
    )
      continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
