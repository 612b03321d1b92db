/**
 * Runs README.md's separate-process flow (readmeFlow.ts) step by step as child processes against
 * a `hardhat node` child on a free port, and reads the chain it drives. One object per test file:
 * `open()` in before(), `close()` in after() (every process group killed, even after a failure;
 * the README's deployments/localhost.json set aside for the run and put back).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { connectDeployment, loadDeployment, type UPowContracts } from "../../verifier/chain/registry";
import { README_FLOW, inTerminal, onPort, type Flow } from "./readmeFlow";
import { freePort } from "../helpers/hardhatNode";
import { REPO_ROOT, Processes, cleanEnv, until, type Proc } from "./processes";
import { jobStatusName } from "../../verifier/protocol/enums";

/** The commands every e2e test runs: README.md's. */
export const FLOW: Flow = README_FLOW;

export const DEPLOYMENT = path.join(REPO_ROOT, "deployments", "localhost.json");
/** Held (O_EXCL) by the run that owns deployments/localhost.json: two runs in one checkout would swap each other's registry. */
const RUN_LOCK = path.join(REPO_ROOT, "deployments", ".e2e-run.lock");

export class FlowRunner {
  readonly timings: [string, number][] = [];
  private t0 = Date.now();
  private tmp = "";
  private setAside: string | undefined;
  private locked = false;
  private keepLogs = false;
  port = 0;
  procs!: Processes;
  provider!: JsonRpcProvider;
  private contracts: UPowContracts | undefined;

  constructor(
    private readonly label: string,
    /** Extra environment of every process (e.g. UPOW_BLOCK_TIME_MS for the node). */
    private readonly extraEnv: Record<string, string> = {},
  ) {}

  async open(): Promise<void> {
    this.t0 = Date.now();
    try {
      fs.writeFileSync(RUN_LOCK, `${process.pid}\n`, { flag: "wx" });
    } catch {
      const holder = fs.readFileSync(RUN_LOCK, "utf8").trim();
      throw new Error(
        `another e2e run (pid ${holder}) uses deployments/localhost.json in this checkout; remove ${RUN_LOCK} if that process is gone`,
      );
    }
    this.locked = true;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `upow-e2e-${this.label}-`));
    fs.mkdirSync(path.join(this.tmp, "logs"));
    this.port = await freePort();
    const url = `http://127.0.0.1:${this.port}`;
    this.procs = new Processes(
      path.join(this.tmp, "logs"),
      cleanEnv({
        // Where the hardhat tasks and the example find the node; UPOW_RPC_URLS comes from the flow's own export line.
        LOCALHOST_RPC_URL: url,
        RPC_URL: url,
        // Keys, data dirs and locks of this run stay in its temporary directory.
        UPOW_HOME: path.join(this.tmp, "state"),
        XDG_STATE_HOME: path.join(this.tmp, "xdg"),
        NO_COLOR: "1",
        ...this.extraEnv,
      }),
    );
    if (fs.existsSync(DEPLOYMENT)) {
      this.setAside = `${DEPLOYMENT}.e2e-${process.pid}`;
      fs.renameSync(DEPLOYMENT, this.setAside);
    }
    this.provider = new JsonRpcProvider(url, 31337, { staticNetwork: true });
    console.log(`    e2e ${this.label}: port ${this.port}, logs in ${path.join(this.tmp, "logs")}`);
  }

  /** Prints every process's log tail and keeps the logs (call from afterEach on a failed test). */
  failed(): void {
    this.keepLogs = true;
    console.log(this.procs.dump());
  }

  async close(): Promise<void> {
    await this.procs?.stopAll();
    this.provider?.destroy();
    if (this.locked) {
      if (fs.existsSync(DEPLOYMENT)) fs.rmSync(DEPLOYMENT);
      if (this.setAside !== undefined) fs.renameSync(this.setAside, DEPLOYMENT);
      fs.rmSync(RUN_LOCK);
    }
    this.mark("all processes stopped");
    console.log(`    e2e ${this.label} timings (s since start): ${this.timings.map(([l, t]) => `${l} ${t.toFixed(0)}`).join("; ")}`);
    if (this.keepLogs) console.log(`    e2e ${this.label}: logs kept in ${path.join(this.tmp, "logs")}`);
    else if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  mark(label: string): void {
    this.timings.push([label, (Date.now() - this.t0) / 1000]);
  }

  /** Step `id` as its terminal runs it, moved to this run's port. */
  command(id: string): string {
    return onPort(FLOW, inTerminal(FLOW, id), this.port);
  }

  /** Starts a long-running step (`name` tells restarts apart in the logs). */
  start(id: string, name = id): Proc {
    return this.procs.start(name, this.command(id));
  }

  /** Runs a step to completion; returns its output. */
  run(id: string, timeoutMs = 300_000, name = id): Promise<string> {
    return this.procs.run(name, this.command(id), timeoutMs);
  }

  /** Step `chain`, until the node answers. */
  async startChain(): Promise<Proc> {
    const chain = this.start("chain");
    await until("the hardhat node to answer", 120_000, async () => {
      if (chain.exitCode() !== undefined) throw new Error(`hardhat node exited (${String(chain.exitCode())})`);
      return this.provider.getBlockNumber().catch(() => undefined);
    });
    this.mark("chain up");
    return chain;
  }

  /** Every `setup` step in order (deploy, keys, stakes). */
  async setup(): Promise<void> {
    for (const s of FLOW.steps.filter((x) => x.role === "setup")) {
      await this.run(s.id);
      this.mark(s.id);
    }
  }

  /** The deployment's contracts, read through this run's node. */
  get c(): UPowContracts {
    this.contracts ??= connectDeployment(loadDeployment({ file: DEPLOYMENT }), this.provider);
    return this.contracts;
  }

  async jobStatus(jobId: bigint): Promise<string> {
    return jobStatusName((await this.c.jobMarket.getJob(jobId)).status);
  }
}
