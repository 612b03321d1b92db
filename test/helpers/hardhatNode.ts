/**
 * `npx hardhat node` as a child process on a free port, as an operator runs it (README, separate
 * processes): tests that must cross a real JSON-RPC boundary (nonce caches, interval mining) use it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

export interface HardhatNodeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the node printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a `npx hardhat <args>` command to its end (e.g. a task against the node); throws with its output on failure. */
export function hardhatCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: string): string {
  const r = spawnSync(process.execPath, [require.resolve("hardhat/internal/cli/cli"), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    input,
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`hardhat ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Starts `hardhat node --port <free>`; resolves once it serves JSON-RPC. */
export async function startHardhatNode(env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<HardhatNodeProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [require.resolve("hardhat/internal/cli/cli"), "node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + timeoutMs;
  while (!out.includes("Started HTTP")) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited ${child.exitCode}: ${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`hardhat node did not start within ${timeoutMs} ms: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}`, port, child, output: () => out, stop };
}
