/**
 * The built CLI (issue 20): `npm run build:cli` transpiles verifier/ and typechain-types/ into
 * dist/, and bin/upow.js runs that build instead of ts-node when it is at least as new as the
 * sources. Checks the path bin/upow.js takes, that the built step process (stepProcess.js next to
 * processRunner.js) gives the same bytes as the sources, and when a build counts as stale.
 */
import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildStepGraph, defaultHyperparameters, initState } from "../../verifier/engine/onnx";
import { StepRunner } from "../../verifier/engine/runner";
import { encodeState } from "../../verifier/engine/step";
import { TINY_SPEC, toyBatches } from "../verifier/engine/helpers";

const REPO = path.resolve(__dirname, "..", "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { distIsFresh } = require(path.join(REPO, "bin", "dist.js")) as { distIsFresh(root?: string): boolean };

function runCli(args: string[], root = REPO): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(root, "bin", "upow.js"), ...args],
      { env: { ...process.env, UPOW_CLI_TRACE: "1" }, timeout: 60_000 },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe("the built CLI (npm run build:cli → dist/)", function () {
  this.timeout(180_000);

  before(function () {
    execFileSync(process.execPath, [path.join(REPO, "scripts", "build-cli.js")], { cwd: REPO, stdio: "inherit" });
  });

  it("bin/upow.js runs dist/verifier/cli/main.js, not ts-node, once dist/ is built", async function () {
    expect(distIsFresh()).to.equal(true);
    const r = await runCli(["--help"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^Usage: upow /);
    expect(r.stderr).to.contain(`upow: running ${path.join(REPO, "dist", "verifier", "cli", "main.js")}`);
    expect(r.stderr).not.to.contain("ts-node");
  });

  it("the built ProcessStepRunner spawns dist/.../stepProcess.js and gives the bytes of the in-process runner", async function () {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const built = require(
      path.join(REPO, "dist", "verifier", "engine", "processRunner.js"),
    ) as typeof import("../../verifier/engine/processRunner");
    const graph = buildStepGraph(TINY_SPEC);
    const hp = { ...defaultHyperparameters(TINY_SPEC), lr: 0.05 };
    const state = initState(TINY_SPEC, "tiny");
    const batch = toyBatches(1, 16)[0]!;
    const local = await StepRunner.create({ graph, threads: 1, optLevel: "all" });
    const proc = await built.ProcessStepRunner.create({ graph, threads: 1, optLevel: "all", budget: { flopsPerStep: 1_000_000n } });
    try {
      const argv = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0");
      expect(argv).to.include(path.join(REPO, "dist", "verifier", "engine", "stepProcess.js"));
      expect(argv.join(" ")).not.to.contain("ts-node");
      const a = await local.step(state, batch, hp);
      const b = await proc.step(state, batch, hp);
      expect(Buffer.from(encodeState(b.next)).equals(Buffer.from(encodeState(a.next)))).to.equal(true);
    } finally {
      await local.dispose();
      await proc.dispose();
    }
  });

  it("leaves no relative import() in dist/ (node would resolve it as ESM without extensions: `upow store push` and the S3 worker failed)", function () {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(".js") && /\bimport\(\s*["']\./.test(readFileSync(p, "utf8"))) offenders.push(path.relative(REPO, p));
      }
    };
    walk(path.join(REPO, "dist", "verifier"));
    expect(offenders).to.deep.equal([]);
  });

  it("without dist/, bin/upow.js runs the sources through ts-node and says so in one line on stderr", async function () {
    // A checkout without dist/: bin/ copied, the sources linked.
    const root = mkdtempSync(path.join(os.tmpdir(), "upow-nodist-"));
    try {
      mkdirSync(path.join(root, "bin"));
      for (const f of ["upow.js", "dist.js"]) copyFileSync(path.join(REPO, "bin", f), path.join(root, "bin", f));
      for (const f of ["verifier", "typechain-types", "node_modules", "tsconfig.json", "package.json"])
        symlinkSync(path.join(REPO, f), path.join(root, f));
      const r = await runCli(["--help"], root);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^Usage: upow /);
      expect(r.stderr).to.contain("upow: dist/ is missing or older than the sources; running them through ts-node");
      expect(r.stderr).to.contain(`upow: running ${path.join(root, "verifier", "cli", "main")}.ts`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  describe("when dist/ is stale (bin/upow.js falls back to ts-node)", function () {
    let root: string;
    const past = new Date(Date.now() - 60_000);
    beforeEach(function () {
      root = mkdtempSync(path.join(os.tmpdir(), "upow-dist-"));
      for (const d of ["verifier/cli", "typechain-types", "dist"]) mkdirSync(path.join(root, d), { recursive: true });
      writeFileSync(path.join(root, "tsconfig.json"), "{}");
      writeFileSync(path.join(root, "verifier", "cli", "main.ts"), "");
      writeFileSync(path.join(root, "typechain-types", "index.ts"), "");
      for (const p of ["tsconfig.json", "verifier/cli/main.ts", "verifier/cli", "verifier", "typechain-types/index.ts", "typechain-types"])
        utimesSync(path.join(root, p), past, past);
      writeFileSync(path.join(root, "dist", ".built"), "");
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it("fresh: the stamp is newer than every source", function () {
      expect(distIsFresh(root)).to.equal(true);
    });
    it("no stamp (never built, or a build that did not finish)", function () {
      rmSync(path.join(root, "dist", ".built"));
      expect(distIsFresh(root)).to.equal(false);
    });
    it("a source edited after the build", function () {
      const later = new Date(Date.now() + 60_000);
      utimesSync(path.join(root, "verifier", "cli", "main.ts"), later, later);
      expect(distIsFresh(root)).to.equal(false);
    });
    it("a source deleted after the build (its folder's mtime moves)", function () {
      const later = new Date(Date.now() + 60_000);
      rmSync(path.join(root, "typechain-types", "index.ts"));
      utimesSync(path.join(root, "typechain-types"), later, later);
      expect(distIsFresh(root)).to.equal(false);
    });
    it("tsconfig.json changed after the build", function () {
      const later = new Date(Date.now() + 60_000);
      utimesSync(path.join(root, "tsconfig.json"), later, later);
      expect(distIsFresh(root)).to.equal(false);
    });
  });
});
