/**
 * Execution-provider selection (issue "GPU execution"): every step-running command takes --ep, an EP
 * that cannot run here fails with an error naming it, what this build offers and what to do, and
 * calibrate reports which settings it compared and which it skipped, and why.
 * On a machine without a GPU (CI) the CUDA and WebGPU cases exercise the failure paths; where an
 * adapter exists the WebGPU-failure cases are skipped with a printed reason.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { buildProgram } from "../../../verifier/cli/main";
import { availableSettings, calibrate, skippedSetting } from "../../../verifier/engine/calibrate";
import { buildStepGraph } from "../../../verifier/engine/onnx";
import {
  EXECUTION_PROVIDERS,
  ExecutionProviderUnavailableError,
  GPU_DOCS,
  StepRunner,
  epFailureReason,
  foundBackends,
  type ExecutionProviderName,
} from "../../../verifier/engine/runner";
import { TrainerError } from "../../../verifier/engine/trainErrors";
import { cli, TINY_SPEC, tinyJob } from "./helpers";

/** Whether the EP opens a session for the tiny graph here (a GPU and its driver stack are present). */
async function epWorks(ep: ExecutionProviderName): Promise<boolean> {
  try {
    const r = await StepRunner.create({ graph: buildStepGraph(TINY_SPEC), ep });
    await r.dispose();
    return true;
  } catch {
    return false;
  }
}

async function createError(ep: ExecutionProviderName): Promise<ExecutionProviderUnavailableError> {
  let err: unknown;
  try {
    const r = await StepRunner.create({ graph: buildStepGraph(TINY_SPEC), ep });
    await r.dispose();
  } catch (e) {
    err = e;
  }
  expect(err, `${ep} opened a session`).to.be.instanceOf(ExecutionProviderUnavailableError);
  return err as ExecutionProviderUnavailableError;
}

function expectClearEpError(err: ExecutionProviderUnavailableError, ep: string): void {
  expect(err.shortMessage).to.contain(`'${ep}'`);
  expect(err.details?.ep).to.equal(ep);
  // what was found: the backends this onnxruntime-node build lists
  expect(err.details?.found).to.deep.equal(foundBackends());
  expect((err.details?.found as string[]).some((b) => b.startsWith("cpu"))).to.equal(true);
  // what to do
  expect(err.details?.docs).to.equal(GPU_DOCS);
  expect(String(err.details?.hint)).to.match(/--ep cpu/);
}

function command(program: Command, ...names: string[]): Command {
  let c = program;
  for (const n of names) {
    const next = c.commands.find((x) => x.name() === n);
    expect(next, `command ${names.join(" ")}`).not.to.equal(undefined);
    c = next as Command;
  }
  return c;
}

describe("GPU execution providers", function () {
  let cudaWorks = false;
  let webgpuWorks = false;
  before(async function () {
    cudaWorks = await epWorks("cuda");
    webgpuWorks = await epWorks("webgpu");
    console.log(
      `      (execution providers here: ${foundBackends().join(", ")}; cuda ${cudaWorks ? "works" : "unavailable"}, webgpu ${webgpuWorks ? "works" : "unavailable"})`,
    );
  });

  describe("--ep on the CLI", function () {
    it("is an option with the choices cpu, webgpu, cuda (default cpu) on train, step, replay and worker start", () => {
      const program = buildProgram();
      for (const names of [["train"], ["step"], ["replay"], ["worker", "start"]]) {
        const opt = command(program, ...names).options.find((o) => o.long === "--ep");
        expect(opt, `${names.join(" ")} --ep`).not.to.equal(undefined);
        expect([...(opt!.argChoices ?? [])].sort()).to.deep.equal([...EXECUTION_PROVIDERS].sort());
        expect(opt!.defaultValue).to.equal("cpu");
      }
      const cal = command(program, "calibrate").options.find((o) => o.long === "--ep");
      expect(cal?.defaultValue).to.deep.equal([...EXECUTION_PROVIDERS]);
    });

    it("rejects an EP outside the choices before doing any work", async () => {
      const r = await cli(os.tmpdir(), "step", "--ep", "tpu", "--job", "x.json", "--state", "s", "--step", "0", "--out", "o");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/Allowed choices are cpu, webgpu, cuda/);
      const c = await cli(os.tmpdir(), "calibrate", "--job", "x.json", "--ep", "cpu,tpu");
      expect(c.code).to.equal(1);
      expect(c.stderr).to.match(/--ep must list execution providers/);
    });

    describe("with a job", function () {
      let dir: string;
      before(async function () {
        dir = await mkdtemp(path.join(os.tmpdir(), "upow-gpu-"));
        expect((await cli(dir, "model", "init", "--out", "model", "--layers", "784,8,10")).code).to.equal(0);
        expect(
          (await cli(dir, "data", "pack", "--out", "data", "--batch-size", "8", "--max-batches", "2", "--test-size", "10")).code,
        ).to.equal(0);
        expect(
          (await cli(dir, "job", "manifest", "--model", "model", "--data", "data", "--steps", "2", "-k", "1", "--out", "job.json")).code,
        ).to.equal(0);
      });
      after(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      it("step --ep cuda fails with the EP, what was found and the docs, exit code 1", async function () {
        if (cudaWorks) {
          console.log("      skipped: the CUDA EP works on this machine");
          this.skip();
        }
        const r = await cli(
          dir,
          "--json",
          "step",
          "--ep",
          "cuda",
          "--job",
          "job.json",
          "--state",
          "model/init.safetensors",
          "--step",
          "0",
          "--out",
          "s1.safetensors",
        );
        expect(r.code).to.equal(1);
        const e = JSON.parse(r.stderr.trim().split("\n").pop()!);
        expect(e.error).to.equal("ExecutionProviderUnavailableError");
        expect(e.message).to.contain("'cuda'");
        expect(e.details.found).to.deep.equal(foundBackends());
        expect(e.details.docs).to.equal(GPU_DOCS);
      });

      it("train and step --ep cpu still run (the default path is unchanged) and record the EP (step: and its batch file)", async () => {
        const r = await cli(dir, "--json", "train", "--ep", "cpu", "--job", "job.json", "--out", "run", "--no-eval");
        expect(r.code, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout).ep).to.equal("cpu");
        const st = await cli(
          dir,
          "--json",
          "step",
          "--ep",
          "cpu",
          "--job",
          "job.json",
          "--state",
          "model/init.safetensors",
          "--step",
          "1",
          "--out",
          "s2.safetensors",
        );
        expect(st.code, st.stderr).to.equal(0);
        expect(JSON.parse(st.stdout)).to.include({ ep: "cpu" });
        expect(JSON.parse(st.stdout).batchFile).to.match(/^batch-00000[01]\.safetensors$/);
      });

      it("calibrate prints what it compared and what it skipped, and why", async function () {
        const r = await cli(dir, "calibrate", "--job", "job.json", "--states", "1", "--spacing", "1", "--batches", "1", "-k", "1");
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/reference cpu\/threads=1\/opt=all/);
        expect(r.stdout).to.match(/compared \(\d+\):\n {2}cpu\/threads=2\/opt=all/);
        const skipped = /skipped \((\d+)\):/.exec(r.stdout);
        expect(skipped).not.to.equal(null);
        if (!cudaWorks) {
          expect(r.stdout).to.match(/ {2}cuda\/opt=all +execution provider 'cuda' /);
          expect(r.stdout).to.contain(GPU_DOCS);
        }
        if (!webgpuWorks) expect(r.stdout).to.match(/ {2}webgpu\/opt=all +execution provider 'webgpu' /);
        expect(Number(skipped![1])).to.equal((cudaWorks ? 0 : 2) + (webgpuWorks ? 0 : 2));
      });
    });
  });

  describe("StepRunner.create", function () {
    it("says clearly that CUDA is unavailable: the EP, what was found, what to do", async function () {
      if (cudaWorks) {
        console.log("      skipped: the CUDA EP works on this machine");
        this.skip();
      }
      const err = await createError("cuda");
      expectClearEpError(err, "cuda");
      expect(String(err.details?.hint)).to.match(/libonnxruntime_providers_cuda/);
    });

    it("says clearly that WebGPU is unavailable when there is no adapter", async function () {
      if (webgpuWorks) {
        console.log("      skipped: a WebGPU adapter exists on this machine");
        this.skip();
      }
      const err = await createError("webgpu");
      expectClearEpError(err, "webgpu");
      expect(String(err.details?.hint)).to.match(/libvulkan\.so\.1/);
      expect(String(err.details?.hint)).to.match(/VK_DRIVER_FILES/);
    });

    it("names an unknown EP and the known ones", async () => {
      const err = await createError("tpu" as ExecutionProviderName);
      expect(err.shortMessage).to.equal("execution provider 'tpu' is an unknown execution provider");
      expect(String(err.details?.hint)).to.contain("cpu, webgpu, cuda");
    });

    it("condenses the binding's failure messages", () => {
      const dawn = new Error(
        "/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:87 ... status == wgpu::RequestAdapterStatus::Success was false",
      );
      expect(epFailureReason(dawn)).to.equal("no WebGPU adapter found (Dawn could not load Vulkan or found no GPU)");
      expect(epFailureReason(new Error("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library"))).to.equal(
        "provider shared library could not be loaded",
      );
      expect(epFailureReason(new Error("something else\nsecond line"))).to.equal("something else");
    });
  });

  describe("calibrate", function () {
    it("lists CPU settings first and a setting per GPU EP and optimisation level", () => {
      const labels = availableSettings().map((s) => s.label);
      expect(labels[0]).to.equal("cpu/threads=1/opt=all");
      expect(labels).to.include.members([
        "cpu/threads=2/opt=all",
        "webgpu/opt=all",
        "webgpu/opt=disabled",
        "cuda/opt=all",
        "cuda/opt=disabled",
      ]);
      expect(availableSettings(["cpu"]).every((s) => s.ep === "cpu")).to.equal(true);
      expect(availableSettings(["cuda"]).map((s) => s.label)).to.deep.equal(["cpu/threads=1/opt=all", "cuda/opt=all", "cuda/opt=disabled"]);
      expect(() => availableSettings(["tpu" as ExecutionProviderName])).to.throw(ExecutionProviderUnavailableError, /'tpu'/);
    });

    it("compares what runs and reports every unavailable GPU setting as skipped with the reason and a hint", async function () {
      const job = await tinyJob();
      await job.params.runner.dispose();
      const settings = availableSettings().filter(
        (s) => s.label !== "cpu/threads=4/opt=disabled" && s.label !== "cpu/threads=1/opt=disabled",
      );
      const r = await calibrate({
        graph: job.graph,
        initialState: job.params.initialState,
        batches: job.params.batches,
        hp: job.params.hp,
        states: 1,
        spacing: 1,
        batchesPerState: 1,
        k: 2,
        settings,
      });
      const expectedSkipped = settings
        .filter((s) => (s.ep === "cuda" && !cudaWorks) || (s.ep === "webgpu" && !webgpuWorks))
        .map((s) => s.label);
      expect(r.skippedSettings.map((s) => s.label)).to.deep.equal(expectedSkipped);
      expect(r.settings).to.deep.equal(
        settings
          .slice(1)
          .map((s) => s.label)
          .filter((l) => !expectedSkipped.includes(l)),
      );
      for (const s of r.skippedSettings) {
        const ep = s.label.split("/")[0]!;
        expect(s.reason).to.match(new RegExp(`^execution provider '${ep}' `));
        expect(s.hint).to.contain(GPU_DOCS);
      }
      // every compared setting was measured
      for (const label of r.settings) expect(r.measurements.some((m) => m.setting === label)).to.equal(true);
      expect(r.measurements.some((m) => r.skippedSettings.some((s) => s.label === m.setting))).to.equal(false);
    });

    it("fails with the skipped reasons when no setting besides the reference runs", async function () {
      if (cudaWorks) {
        console.log("      skipped: the CUDA EP works on this machine");
        this.skip();
      }
      const job = await tinyJob();
      await job.params.runner.dispose();
      let err: unknown;
      try {
        await calibrate({
          graph: job.graph,
          initialState: job.params.initialState,
          batches: job.params.batches,
          hp: job.params.hp,
          states: 1,
          spacing: 1,
          batchesPerState: 1,
          k: 1,
          settings: availableSettings(["cuda"]),
        });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(TrainerError);
      const skipped = (err as TrainerError).details?.skipped as { label: string }[];
      expect(skipped.map((s) => s.label)).to.deep.equal(["cuda/opt=all", "cuda/opt=disabled"]);
    });

    it("keeps a non-UPowError reason to its first line", () => {
      expect(skippedSetting("x", new Error("a\nb"))).to.deep.equal({ label: "x", reason: "a" });
      expect(skippedSetting("x", "plain")).to.deep.equal({ label: "x", reason: "plain" });
    });
  });
});
