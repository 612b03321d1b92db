/**
 * §2 Replay vs training: the verifier's cost of one interval of k steps (fetch-free: load both
 * checkpoints from disk with their hash checks, replay k steps with the real replay, compare with the
 * k-step tolerance) against the worker's cost of training that interval with commitments (the real
 * trainer: per-step state hashes, step root, checkpoint file, determinism self-check); and a juror's
 * single-step check (load S_j, S_{j+1}, run the step under two settings, §10.4 verdict).
 */
import { CheckpointStore } from "../../verifier/engine/checkpoints";
import { DEFAULT_FLOORS } from "../../verifier/engine/calibrate";
import { replay } from "../../verifier/engine/replay";
import { compareInterval, jurorVerdict, Vote } from "../../verifier/engine/tolerance";
import { train } from "../../verifier/engine/trainer";
import { readSafetensors } from "../../verifier/engine/safetensors";
import { encodeState, hashStateBytes } from "../../verifier/engine/step";
import { type SuiteContext, type SuiteResult, fmt, layersLabel, mlpSetup, now, runner, table } from "../lib/common";
import { removeDir, tempDir } from "../lib/trajectory";

export async function runReplayCost(ctx: SuiteContext): Promise<SuiteResult> {
  const layers = [784, 128, 10];
  const batch = 64;
  const ks = ctx.quick ? [20] : [10, 100];
  const intervals = ctx.quick ? 2 : 3;
  const setup = mlpSetup(layers, batch);
  const worker = await runner(setup.graph, 1, "all");
  const verifier = await runner(setup.graph, 1, "all");
  const jurorAlt = await runner(setup.graph, 1, "disabled");
  const rows: Record<string, unknown>[] = [];
  const bounds = { deltaKUpd: DEFAULT_FLOORS.deltaKUpd, deltaKUlp: DEFAULT_FLOORS.deltaKUlp };
  const single = { deltaUpd: DEFAULT_FLOORS.deltaUpd, deltaUlp: DEFAULT_FLOORS.deltaUlp };
  for (const k of ks) {
    const dir = tempDir(`replay-k${k}`);
    try {
      const T = intervals * k;
      ctx.log(`replay-cost: train T=${T}, k=${k} with commitments`);
      const t0 = now();
      const res = await train({ runner: worker, initialState: setup.initial, batches: setup.batches, hp: setup.hp, T, k, dir });
      const trainPerInterval = (now() - t0) / intervals;
      const store = await CheckpointStore.open(dir);
      const index = (await store.readIndex())!;
      // Verify every interval as an auditor would (fetch-free), one at a time.
      let verifySum = 0;
      let allPass = true;
      for (let i = 0; i < intervals; i++) {
        const v0 = now();
        const start = await store.loadState(index.checkpoints[i]!.file, index.checkpoints[i]!.stateHash);
        const end = await store.loadState(index.checkpoints[i + 1]!.file, index.checkpoints[i + 1]!.stateHash);
        const rep = await replay({ runner: verifier, state: start, startStep: i * k, k, batches: setup.batches, hp: setup.hp });
        const report = compareInterval(start, rep.finalState, end, bounds);
        verifySum += now() - v0;
        allPass &&= !report.convict;
      }
      const verifyPerInterval = verifySum / intervals;
      // Juror: one step in the middle of interval 1. The worker serves S_j, S_{j+1}: regenerate them
      // (untimed) and store them as files, as the worker would.
      const rec = index.intervals[Math.min(1, intervals - 1)]!;
      const j = Math.floor(k / 2);
      const files: string[] = [];
      await replay({
        runner: worker,
        state: await store.loadState(index.checkpoints[rec.i]!.file, index.checkpoints[rec.i]!.stateHash),
        startStep: rec.i * k,
        k: j + 1,
        batches: setup.batches,
        hp: setup.hp,
        onState: async (t, s) => {
          if (t >= rec.i * k + j) files.push(await store.putState(encodeState(s)));
        },
      });
      const jt = now();
      const sjBytes = await store.readBytes(files[0]!);
      const sj1Bytes = await store.readBytes(files[1]!);
      const ok = hashStateBytes(sjBytes) === rec.stateHashes[j] && hashStateBytes(sj1Bytes) === rec.stateHashes[j + 1];
      const sj = readSafetensors(sjBytes);
      const sj1 = readSafetensors(sj1Bytes);
      const globalStep = rec.i * k + j;
      const b = await setup.batches(globalStep);
      const r1 = await verifier.step(sj, b, setup.hp);
      const r2 = await jurorAlt.step(sj, b, setup.hp);
      const verdict = jurorVerdict(sj, r1.next, r2.next, sj1, single);
      const jurorSeconds = now() - jt;
      rows.push({
        model: layersLabel(layers),
        batch,
        k,
        intervals,
        trainSecondsPerInterval: trainPerInterval,
        verifySecondsPerInterval: verifyPerInterval,
        verifyOverTrain: verifyPerInterval / trainPerInterval,
        jurorSeconds,
        jurorOverIntervalTrain: jurorSeconds / trainPerInterval,
        honestAuditsPassed: allPass,
        jurorVote: verdict.vote,
        jurorHashesOk: ok,
        checkpointRoot: res.checkpointRoot,
      });
      if (!allPass || verdict.vote !== Vote.WorkerHonest || !ok)
        ctx.log(`replay-cost: WARNING honest interval or step did not pass (k=${k})`);
      ctx.log(
        `replay-cost: k=${k}: train ${fmt(trainPerInterval)} s/interval, verify ${fmt(verifyPerInterval)} s, juror ${fmt(jurorSeconds)} s`,
      );
    } finally {
      removeDir(dir);
    }
  }
  for (const r of [worker, verifier, jurorAlt]) await r.dispose();
  const md = [
    table(
      [
        "model",
        "batch",
        "k",
        "train interval (s)",
        "verify interval (s)",
        "verify / train",
        "juror step check (s)",
        "juror / train interval",
        "honest audits pass",
        "juror vote",
      ],
      rows.map((r) => [
        r.model as string,
        r.batch as number,
        r.k as number,
        fmt(r.trainSecondsPerInterval as number),
        fmt(r.verifySecondsPerInterval as number),
        fmt(r.verifyOverTrain as number),
        fmt(r.jurorSeconds as number),
        fmt(r.jurorOverIntervalTrain as number),
        String(r.honestAuditsPassed),
        r.jurorVote === Vote.WorkerHonest ? "WorkerHonest" : String(r.jurorVote),
      ]),
    ),
    "",
    "Train = the real trainer (`train`, cpu, 1 thread): k steps, canonical state bytes and state hash of every step, the step root, the",
    "checkpoint file written with fsync, the determinism self-check (one extra step per interval). Verify = load both checkpoints",
    "from disk and check their hashes, `replay` k steps (which also hashes every state, as the audit code does), `compareInterval`",
    "with the δ_k floors. Juror = read S_j and S_{j+1}, check both hashes, run the step under two settings (opt all / opt disabled)",
    "and take the §10.4 verdict. All on the same core count in the same run.",
  ].join("\n");
  return {
    name: "replay-cost",
    title: "2. Replay vs training (the verifier's cost)",
    rows,
    settings: { layers, batch, ks, intervals, optimizer: "adam", threads: 1, bounds, single },
    markdown: md,
  };
}
