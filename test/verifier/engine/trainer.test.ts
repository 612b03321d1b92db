import { expect } from "chai";
import { mkdir, mkdtemp, readFile, rm, readdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { train, type TrainProgress } from "../../../verifier/engine/trainer";
import { replay } from "../../../verifier/engine/replay";
import { CheckpointStore, readCheckpointIndex } from "../../../verifier/engine/checkpoints";
import { assertDeterministic, encodeState, hashStateBytes, singleStep, stateHash, type StepExecutor } from "../../../verifier/engine/step";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner } from "../../../verifier/engine/runner";
import { NondeterminismError } from "../../../verifier/engine/runner";
import { CheckpointStoreError, TrainerError } from "../../../verifier/engine/trainErrors";
import { ZERO_HASH, checkpointLeaf, stepRoot, verifyProof } from "../../../verifier/protocol/hashing";
import { tinyJob, wideBatch } from "./helpers";

describe("trainer", function () {
  let dirs: string[] = [];
  async function tmp(): Promise<string> {
    const d = await mkdtemp(path.join(os.tmpdir(), "upow-train-"));
    dirs.push(d);
    return d;
  }
  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    dirs = [];
  });

  describe("when a run completes", () => {
    it("commits to every step: checkpoint root, proofs of leaf 0 and n-1, step roots that replay bit for bit", async () => {
      const job = await tinyJob();
      const dir = await tmp();
      const progress: TrainProgress[] = [];
      const r = await train({ ...job.params, T: 12, k: 4, dir, onProgress: (p) => progress.push(p) });
      expect(r.n).to.equal(4);
      expect(r.resumedFrom).to.equal(null);
      expect(progress.map((p) => p.step)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(progress.filter((p) => p.checkpoint !== undefined).map((p) => p.checkpoint)).to.deep.equal([1, 2, 3]);
      expect(r.losses).to.have.length(12);
      expect(r.initialStateHash).to.equal(stateHash(job.params.initialState));
      expect(r.finalStateHash).to.equal(stateHash(r.finalState));
      // leaf 0 and leaf n-1 proofs as JobMarket.submitResult checks them
      const leaf0 = checkpointLeaf(0, r.initialStateHash, r.intervals[0]!.stepRoot);
      expect(verifyProof(r.checkpointRoot, r.n, 0, leaf0, r.proofFirst)).to.equal(true);
      const leafLast = checkpointLeaf(r.n - 1, r.finalStateHash, ZERO_HASH);
      expect(verifyProof(r.checkpointRoot, r.n, r.n - 1, leafLast, r.proofLast)).to.equal(true);
      expect(verifyProof(r.checkpointRoot, r.n, 1, leafLast, r.proof(1))).to.equal(false);

      // every interval replays bit for bit from its stored checkpoint
      const { store, index } = await readCheckpointIndex(dir);
      for (const iv of r.intervals) {
        const ck = index.checkpoints[iv.i]!;
        const start = await store.loadState(ck.file, ck.stateHash);
        const rep = await replay({
          runner: job.params.runner,
          state: start,
          startStep: iv.i * 4,
          k: 4,
          batches: job.params.batches,
          hp: job.params.hp,
        });
        expect(rep.stateHashes).to.deep.equal(iv.stateHashes);
        expect(rep.stepRoot).to.equal(iv.stepRoot);
        expect(rep.finalStateHash).to.equal(index.checkpoints[iv.i + 1]!.stateHash);
        const leaf = checkpointLeaf(iv.i, ck.stateHash, rep.stepRoot);
        expect(verifyProof(r.checkpointRoot, r.n, iv.i, leaf, r.proof(iv.i))).to.equal(true);
      }
      // the loss falls on this separable toy problem
      expect(r.losses[11]!).to.be.lessThan(r.losses[0]!);
    });

    it("stores checkpoints content-addressed and every step state with keepStepStates", async () => {
      const job = await tinyJob();
      const dir = await tmp();
      const r = await train({ ...job.params, T: 6, k: 3, dir, keepStepStates: true });
      const files = await readdir(path.join(dir, "objects"));
      // 3 checkpoints + 2·2 inner states; all names are sha256 of the bytes
      expect(files.filter((f) => f.endsWith(".safetensors"))).to.have.length(7);
      const { store, index } = await readCheckpointIndex(dir);
      expect(index.intervals[1]!.stepFiles).to.have.length(2);
      const inner = await store.loadState(index.intervals[1]!.stepFiles![0]!, index.intervals[1]!.stateHashes[1]!);
      expect(stateHash(inner)).to.equal(index.intervals[1]!.stateHashes[1]);
      expect(r.intervals[1]!.stateHashes).to.have.length(4);
    });
  });

  describe("pipelining (hashing in a worker thread, checkpoint files written in the background)", () => {
    it("commits exactly what stepping and hashing one state at a time in this thread gives", async () => {
      // 784-32-10 Adam: a 0.3 MB state, above the size that is hashed off-thread.
      const spec: ModelSpec = { layers: [784, 32, 10], activation: "relu", optimizer: "adam" };
      const runner = await StepRunner.create({ graph: buildStepGraph(spec) });
      try {
        const batches = [wideBatch(16), wideBatch(32)];
        const params = {
          runner,
          initialState: initState(spec, "pipeline"),
          batches: (t: number) => batches[t % 2]!,
          hp: defaultHyperparameters(spec),
        };
        expect(encodeState(params.initialState).length).to.be.greaterThan(256 * 1024);
        const r = await train({ ...params, T: 6, k: 3, dir: await tmp(), keepStepStates: true });
        let state = params.initialState;
        const hashes = [hashStateBytes(encodeState(state))];
        for (let t = 0; t < 6; t++) {
          state = (await runner.step(state, params.batches(t), params.hp)).next;
          hashes.push(hashStateBytes(encodeState(state)));
        }
        expect(r.intervals.map((iv) => iv.stateHashes)).to.deep.equal([hashes.slice(0, 4), hashes.slice(3, 7)]);
        expect(r.intervals.map((iv) => iv.stepRoot)).to.deep.equal([stepRoot(hashes.slice(0, 4), 0), stepRoot(hashes.slice(3, 7), 3)]);
        expect(r.finalStateHash).to.equal(hashes[6]);
      } finally {
        await runner.dispose();
      }
    });

    it("fails with the write's error when a background checkpoint write fails, and keeps what was written", async () => {
      const job = await tinyJob();
      const refDir = await tmp();
      const ref = await train({ ...job.params, T: 6, k: 2, dir: refDir });
      const { index: refIndex } = await readCheckpointIndex(refDir);
      // A directory where checkpoint 2's file must go: the rename onto it fails (EISDIR/ENOTEMPTY).
      const dir = await tmp();
      await mkdir(path.join(dir, refIndex.checkpoints[2]!.file, "blocker"), { recursive: true });
      let err: unknown;
      try {
        await train({ ...job.params, T: 6, k: 2, dir });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(CheckpointStoreError);
      expect((err as CheckpointStoreError).details).to.deep.include({ file: refIndex.checkpoints[2]!.file });
      expect(((err as Error).cause as NodeJS.ErrnoException).code).to.be.oneOf(["EISDIR", "ENOTEMPTY", "EEXIST"]);
      const { index } = await readCheckpointIndex(dir);
      expect(index.checkpoints.map((c) => c.stateHash)).to.deep.equal(refIndex.checkpoints.slice(0, 2).map((c) => c.stateHash));
      // Without the obstacle the run resumes from checkpoint 1 and reaches the same root.
      await rm(path.join(dir, refIndex.checkpoints[2]!.file), { recursive: true });
      const resumed = await train({ ...job.params, T: 6, k: 2, dir });
      expect(resumed.resumedFrom).to.equal(1);
      expect(resumed.checkpointRoot).to.equal(ref.checkpointRoot);
    });
  });

  describe("when a run is interrupted", () => {
    it("resumes from the last checkpoint whose file still verifies (an unsynced write lost to a power cut)", async () => {
      const job = await tinyJob();
      const full = await train({ ...job.params, T: 8, k: 2, dir: await tmp() });
      const dir = await tmp();
      const ac = new AbortController();
      try {
        await train({
          ...job.params,
          T: 8,
          k: 2,
          dir,
          signal: ac.signal,
          onProgress: (p) => {
            if (p.step === 7) ac.abort(new Error("crash"));
          },
        });
      } catch {
        // expected
      }
      const { index } = await readCheckpointIndex(dir);
      expect(index.checkpoints).to.have.length(4);
      // What a power cut can leave of a file written without fsync: its name, not its bytes.
      await writeFile(path.join(dir, index.checkpoints[3]!.file), Buffer.alloc(0));
      const resumed = await train({ ...job.params, T: 8, k: 2, dir });
      expect(resumed.resumedFrom).to.equal(2);
      expect(resumed.checkpointRoot).to.equal(full.checkpointRoot);
      expect(resumed.losses).to.deep.equal(full.losses);
    });

    it("resumes from the last complete checkpoint and reaches the same checkpoint root", async () => {
      const job = await tinyJob();
      const full = await train({ ...job.params, T: 12, k: 3, dir: await tmp() });

      const dir = await tmp();
      const ac = new AbortController();
      let err: unknown;
      try {
        await train({
          ...job.params,
          T: 12,
          k: 3,
          dir,
          signal: ac.signal,
          onProgress: (p) => {
            if (p.step === 8) ac.abort(new Error("crash"));
          },
        });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(TrainerError);
      const { index } = await readCheckpointIndex(dir);
      expect(index.checkpoints).to.have.length(3); // steps 0, 3, 6 written; 8 was mid-interval

      const resumed = await train({ ...job.params, T: 12, k: 3, dir });
      expect(resumed.resumedFrom).to.equal(2);
      expect(resumed.checkpointRoot).to.equal(full.checkpointRoot);
      expect(resumed.finalStateHash).to.equal(full.finalStateHash);
      expect(resumed.losses).to.deep.equal(full.losses);

      // a finished run "resumes" to the same result without stepping
      const again = await train({
        ...job.params,
        T: 12,
        k: 3,
        dir,
        onProgress: () => {
          throw new Error("no step expected");
        },
      });
      expect(again.checkpointRoot).to.equal(full.checkpointRoot);
    });

    it("refuses to resume a directory that holds another job", async () => {
      const job = await tinyJob();
      const dir = await tmp();
      await train({ ...job.params, T: 2, k: 1, dir });
      let err: unknown;
      try {
        await train({ ...job.params, hp: { ...job.params.hp, lr: 0.5 }, T: 2, k: 1, dir });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(TrainerError);
      expect((err as TrainerError).shortMessage).to.match(/different job/);
    });

    it("detects a checkpoint file that was altered on disk", async () => {
      const job = await tinyJob();
      const dir = await tmp();
      await train({ ...job.params, T: 2, k: 1, dir });
      const { store, index } = await readCheckpointIndex(dir);
      const bad = encodeState(job.params.initialState);
      const rel = await store.putState(bad);
      let err: unknown;
      try {
        await store.loadState(rel, index.checkpoints[1]!.stateHash);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(CheckpointStoreError);
      expect(await readFile(path.join(dir, "index.json"), "utf8")).to.contain(index.checkpoints[1]!.stateHash);
    });
  });

  describe("when the parameters are bad", () => {
    it("rejects T not a multiple of k, k < 1", async () => {
      const job = await tinyJob();
      for (const [T, k] of [
        [10, 3],
        [0, 1],
        [4, 0],
      ] as const) {
        let err: unknown;
        try {
          await train({ ...job.params, T, k, dir: await tmp() });
        } catch (e) {
          err = e;
        }
        expect(err, `T=${T} k=${k}`).to.be.instanceOf(TrainerError);
      }
    });

    it("rejects a malformed index with a typed error", async () => {
      const dir = await tmp();
      const store = await CheckpointStore.open(dir);
      await require("node:fs/promises").writeFile(path.join(dir, "index.json"), '{"version":1}');
      let err: unknown;
      try {
        await store.readIndex();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(CheckpointStoreError);
    });
  });

  describe("determinism self-check (§3)", () => {
    it("passes on the real runner and throws NondeterminismError on a runner that is not", async () => {
      const job = await tinyJob();
      const batch = await job.params.batches(0);
      const once = await singleStep(job.params.runner, job.params.initialState, batch, job.params.hp);
      await assertDeterministic(job.params.runner, job.params.initialState, batch, job.params.hp, once.bytes, 0);
      let calls = 0;
      // A real runner whose learning rate drifts by one float32 ulp on every other call.
      const flaky: StepExecutor = {
        step: (s, b, hp) => job.params.runner.step(s, b, { ...hp, lr: (hp.lr ?? 0) * (calls++ % 2 ? 1 + 2 ** -20 : 1) }),
      };
      let err: unknown;
      try {
        await train({ ...job.params, runner: flaky, T: 2, k: 2, dir: await tmp() });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(NondeterminismError);
    });
  });
});
