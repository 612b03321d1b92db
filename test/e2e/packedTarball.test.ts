/**
 * Issue 16's "done when": an integrator's script that uses only the `upow` package creates a job
 * on a local chain, waits for it, downloads the model and evaluates it with onnxruntime, run from
 * a temporary project that installed the tarball `npm pack` makes. The chain, the worker, three
 * verifiers and the keeper are README.md's separate processes (FlowRunner); the script is
 * examples/sdkQuickstart.js, copied out of the repository, run as a child process.
 *
 * Install: the machine is offline, so `npm install` cannot fetch the package's dependencies. The
 * tarball is unpacked into the project's node_modules/upow exactly as npm lays it out (only what
 * "files" ships: no sources, no tests), and the dependencies are linked from the repository's
 * node_modules. Resolution of `upow` therefore goes through its package.json "exports"/"types",
 * as in a real install. Not part of `npm test` (its budget): `npm run test:e2e`.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FlowRunner, DEPLOYMENT } from "./flowRunner";
import { REPO_ROOT, waitForLog } from "./processes";

const VERIFIERS = ["verifier-3", "verifier-4", "verifier-5"];

/** A TypeScript file of the temporary project: viem reads typed through the package's declarations. */
const VIEM_CHECK = `import { createPublicClient, getContract, http } from "viem";
import { jobMarketAbi, deploymentAddresses, loadDeployment, type JobResult } from "upow";

const addresses = deploymentAddresses(loadDeployment({ file: "deployment.json" }));
const jobMarket = getContract({ address: addresses.jobMarket, abi: jobMarketAbi, client: createPublicClient({ transport: http() }) });
export async function status(jobId: bigint): Promise<number> {
  return (await jobMarket.read.getJob([jobId])).status;
}
export const accuracy = (r: JobResult): number => r.testAccuracy;
// @ts-expect-error getJob takes a bigint job id
export const wrong = (): unknown => jobMarket.read.getJob(["1"]);
`;

describe("the packed tarball, installed into a temporary project: an integrator's script end to end (issue 16)", function () {
  this.timeout(25 * 60_000);
  const e2e = new FlowRunner("sdk");
  let tmp: string;
  let app: string;

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "upow-tarball-"));
    // Build once (dist/ with declarations), then pack without lifecycle scripts (no second build).
    execFileSync("npm", ["run", "--silent", "build:sdk"], { cwd: REPO_ROOT, stdio: "pipe" });
    const packed = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", tmp], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .pop()!;
    const tarball = path.join(tmp, packed);
    app = path.join(tmp, "app");
    const modules = path.join(app, "node_modules");
    fs.mkdirSync(path.join(modules, "upow"), { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", path.join(modules, "upow"), "--strip-components=1"]);
    for (const name of fs.readdirSync(path.join(REPO_ROOT, "node_modules"))) {
      if (name === "upow" || name === ".bin" || name.startsWith(".")) continue;
      fs.symlinkSync(path.join(REPO_ROOT, "node_modules", name), path.join(modules, name));
    }
    fs.writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({ name: "integrator-app", private: true, dependencies: { upow: `file:${tarball}` } }, null, 2),
    );
    fs.copyFileSync(path.join(REPO_ROOT, "examples", "sdkQuickstart.js"), path.join(app, "quickstart.js"));
    fs.writeFileSync(path.join(app, "viemCheck.ts"), VIEM_CHECK);
    await e2e.open();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") e2e.failed();
  });

  after(async function () {
    await e2e.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the tarball ships the built entry with declarations and no sources or tests", function () {
    const pkg = path.join(app, "node_modules", "upow");
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")) as {
      main: string;
      types: string;
      private?: boolean;
    };
    expect(manifest.private).to.equal(undefined);
    expect(fs.existsSync(path.join(pkg, manifest.main)), manifest.main).to.equal(true);
    expect(fs.existsSync(path.join(pkg, manifest.types)), manifest.types).to.equal(true);
    for (const absent of ["verifier", "test", "contracts", "typechain-types", "examples"])
      expect(fs.existsSync(path.join(pkg, absent)), absent).to.equal(false);
    // Resolved from the project, the package is the unpacked one, not the repository.
    const resolved = execFileSync(process.execPath, ["-p", "require.resolve('upow')"], { cwd: app, encoding: "utf8" }).trim();
    expect(resolved).to.equal(path.join(pkg, "dist", "verifier", "sdk", "index.js"));
  });

  it("viem infers the contract types from the package's ABIs and declarations (tsc --strict)", function () {
    fs.writeFileSync(path.join(app, "deployment.json"), "{}");
    // --skipLibCheck (tsc --init's default): onnx-proto's own declarations name a global Long they never import.
    const r = spawnSync(
      process.execPath,
      [
        require.resolve("typescript/bin/tsc"),
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "--target",
        "es2022",
        "--module",
        "commonjs",
        "--moduleResolution",
        "node",
        "--types",
        "node",
        "viemCheck.ts",
      ],
      { cwd: app, encoding: "utf8" },
    );
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
  });

  it("quickstart.js, importing only `upow`: job created, trained by the worker, Finalized, model downloaded and evaluated on onnxruntime", async function () {
    await e2e.startChain();
    await e2e.setup();
    const daemons = [e2e.start("worker"), ...VERIFIERS.map((id) => e2e.start(id)), e2e.start("keeper")];
    await waitForLog(daemons[0]!, /worker started/, 180_000);
    for (const d of daemons.slice(1, 4)) await waitForLog(d, /verifier started/, 180_000);
    e2e.mark("daemons up");

    const command = `cd '${app}' && UPOW_RPC_URLS=http://127.0.0.1:${e2e.port} UPOW_DEPLOYMENTS='${DEPLOYMENT}' OUT_DIR='${tmp}' node quickstart.js`;
    const out = await e2e.procs.run("quickstart", command, 15 * 60_000);
    e2e.mark("quickstart done");
    const created = /job (\d+) created/.exec(out);
    expect(created, out).to.not.equal(null);
    const jobId = BigInt(created![1]!);
    expect(out).to.match(new RegExp(`job ${jobId} ended Finalized`));
    for (const name of ["JobClaimed", "ResultSubmitted", "JobFinalized"]) expect(out).to.include(`: ${name}`);
    const summary = JSON.parse(out.trim().split("\n").pop()!) as {
      jobId: string;
      status: string;
      checkpointRoot: string;
      finalStateHash: string;
      testAccuracy: number;
      onnxAccuracy: number;
    };

    const job = await e2e.c.jobMarket.getJob(jobId);
    expect(summary.status).to.equal("Finalized");
    expect(summary.checkpointRoot).to.equal(job.checkpointRoot);
    expect(summary.finalStateHash).to.equal(job.finalStateHash);
    // The model the script evaluated itself beats chance (10 classes) on held-out digits, as getResult measured.
    expect(summary.onnxAccuracy).to.be.greaterThan(0.3);
    expect(summary.onnxAccuracy).to.equal(summary.testAccuracy);
    expect(fs.statSync(path.join(tmp, "model.onnx")).size).to.be.greaterThan(0);
    expect(fs.statSync(path.join(tmp, "weights.safetensors")).size).to.be.greaterThan(0);
  });
});
