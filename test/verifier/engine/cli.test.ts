import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Command } from "commander";
import { buildProgram } from "../../../verifier/cli/main";
import { cli } from "./helpers";
import { readSafetensors, writeSafetensors } from "../../../verifier/engine/safetensors";
import { readCheckpointIndex } from "../../../verifier/engine/checkpoints";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../../..");
const BIN = path.join(ROOT, "bin/upow.js");

async function upow(cwd: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd, maxBuffer: 16 << 20 });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

describe("upow CLI", function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "upow-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("has help on every command and exposes buildProgram for more command groups", () => {
    const program = buildProgram([
      (p) => {
        p.command("extra-group").description("added by another module");
      },
    ]);
    const names = allCommands(program).map((c) => c.name());
    for (const n of [
      "model",
      "init",
      "data",
      "pack",
      "job",
      "manifest",
      "train",
      "step",
      "replay",
      "compare",
      "calibrate",
      "store",
      "serve",
      "worker",
      "verifier",
      "start",
      "extra-group",
    ])
      expect(names).to.include(n);
    for (const c of allCommands(program)) expect(c.helpInformation()).to.match(/Usage:/);
  });

  it("runs a tiny job end to end (train and a failure as child processes of bin/upow.js): init, pack, manifest, train, replay bit for bit, step, compare honest and tampered", async () => {
    const help = await upow(dir, "--help");
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/calibrate/);

    expect((await cli(dir, "--json", "model", "init", "--out", "model", "--layers", "784,8,10", "--lr", "0.01")).code).to.equal(0);
    const pack = JSON.parse(
      (await cli(dir, "--json", "data", "pack", "--out", "data", "--batch-size", "16", "--max-batches", "3", "--test-size", "50")).stdout,
    );
    expect(pack.numBatches).to.equal(3);
    expect(
      (await cli(dir, "job", "manifest", "--model", "model", "--data", "data", "--steps", "6", "-k", "3", "--out", "job.json")).code,
    ).to.equal(0);

    const tr = await upow(dir, "--json", "-q", "train", "--job", "job.json", "--out", "run");
    expect(tr.code, tr.stderr).to.equal(0);
    const result = JSON.parse(tr.stdout);
    expect(result.checkpointRoot).to.match(/^0x[0-9a-f]{64}$/);
    expect(result.n).to.equal(3);
    expect(result.testCount).to.equal(50);
    expect(result.lossCurve.length).to.be.greaterThan(1);

    const rep = await cli(dir, "--json", "replay", "--job", "job.json", "--run", "run", "-i", "1", "--out", "replayed.safetensors");
    expect(rep.code, rep.stderr).to.equal(0);
    const r = JSON.parse(rep.stdout);
    expect(r.match).to.equal(true);
    expect(r.finalStateHash).to.equal(result.finalStateHash);

    // one step from checkpoint 1 (global step 3) reproduces the committed state after step 4
    const { index } = await readCheckpointIndex(path.join(dir, "run"));
    const ck1 = path.join(dir, "run", index.checkpoints[1]!.file);
    const st = JSON.parse(
      (await cli(dir, "--json", "step", "--job", "job.json", "--state", ck1, "--step", "3", "--out", "s4.safetensors")).stdout,
    );
    expect(st.after).to.equal(index.intervals[1]!.stateHashes[1]);

    const honest = await cli(
      dir,
      "--json",
      "compare",
      "--job",
      "job.json",
      "--before",
      ck1,
      "--a",
      "s4.safetensors",
      "--b",
      "s4.safetensors",
    );
    expect(honest.code).to.equal(0);
    expect(JSON.parse(honest.stdout).convict).to.equal(false);

    const s4 = readSafetensors(await readFile(path.join(dir, "s4.safetensors")));
    const w = s4.get("fc1.weight")!.data as Float32Array;
    w[100] = w[100]! + 0.01;
    await writeFile(path.join(dir, "tampered.safetensors"), writeSafetensors(s4));
    const bad = await cli(
      dir,
      "--json",
      "compare",
      "--job",
      "job.json",
      "--before",
      ck1,
      "--a",
      "s4.safetensors",
      "--b",
      "tampered.safetensors",
    );
    expect(bad.code).to.equal(4);
    const rep2 = JSON.parse(bad.stdout);
    expect(rep2.convict).to.equal(true);
    expect(rep2.worstTensor).to.equal("fc1.weight");
    expect(rep2.worstRatio).to.be.greaterThan(10);

    // bad input: a typed error on stderr and exit code 1, no stack trace
    const missing = await upow(dir, "train", "--job", "nope.json", "--out", "x");
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/CliError: cannot read job file/);
  });
});
