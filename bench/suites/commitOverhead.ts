/**
 * §3 Commitment overhead: the real trainer (checkpoints + per-step state hashing + step/checkpoint
 * Merkle trees, with and without the determinism self-check) against the bare step loop, k = 10,
 * 100, 1000 over the same T steps, same model, same run.
 */
import { train } from "../../verifier/engine/trainer";
import type { TensorMap } from "../../verifier/engine/tensor";
import { type SuiteContext, type SuiteResult, fmt, layersLabel, mlpSetup, now, pct, runner, table } from "../lib/common";
import { removeDir, tempDir } from "../lib/trajectory";

export async function runCommitOverhead(ctx: SuiteContext): Promise<SuiteResult> {
  const layers = [784, 128, 10];
  const batch = 64;
  const T = ctx.quick ? 200 : 2000;
  // k = 1000 needs T ≥ 1000 steps: full mode only.
  const ks = ctx.quick ? [10, 100] : [10, 100, 1000];
  const setup = mlpSetup(layers, batch);
  const r = await runner(setup.graph, 1, "all");
  const plain = async (): Promise<number> => {
    let state: TensorMap = setup.initial;
    const t0 = now();
    for (let t = 0; t < T; t++) state = (await r.step(state, await setup.batches(t), setup.hp)).next;
    return now() - t0;
  };
  const committed = async (k: number, selfCheck: boolean): Promise<number> => {
    const dir = tempDir(`commit-k${k}`);
    try {
      const t0 = now();
      await train({ runner: r, initialState: setup.initial, batches: setup.batches, hp: setup.hp, T, k, dir, selfCheck });
      return now() - t0;
    } finally {
      removeDir(dir);
    }
  };
  await plain(); // warm-up (batch cache, session)
  const rows: Record<string, unknown>[] = [];
  for (const k of ks) {
    // Interleave so a burst of load on the shared machine hits both sides alike.
    const base = await plain();
    const noCheck = await committed(k, false);
    const withCheck = await committed(k, true);
    const base2 = await plain();
    const baseline = (base + base2) / 2;
    rows.push({
      model: layersLabel(layers),
      batch,
      T,
      k,
      plainSeconds: baseline,
      committedSeconds: noCheck,
      committedSelfCheckSeconds: withCheck,
      overhead: noCheck / baseline - 1,
      overheadWithSelfCheck: withCheck / baseline - 1,
      stateBytes: setup.stateBytes,
    });
    ctx.log(`commit-overhead: k=${k}: plain ${fmt(baseline)} s, committed ${fmt(noCheck)} s, +self-check ${fmt(withCheck)} s`);
  }
  await r.dispose();
  const md = [
    table(
      ["model", "batch", "T", "k", "plain steps (s)", "with commitments (s)", "overhead", "with commitments + self-check (s)", "overhead"],
      rows.map((x) => [
        x.model as string,
        x.batch as number,
        x.T as number,
        x.k as number,
        fmt(x.plainSeconds as number),
        fmt(x.committedSeconds as number),
        pct(x.overhead as number),
        fmt(x.committedSelfCheckSeconds as number),
        pct(x.overheadWithSelfCheck as number),
      ]),
    ),
    "",
    `Plain = \`runner.step\` in a loop. With commitments = the real \`train\` (canonical safetensors bytes and sha256 file hash of every`,
    `step's state (${fmt(setup.stateBytes / 1024)} KiB), step roots, checkpoint tree, checkpoint files with fsync). The self-check`,
    "(§3: the first step of every interval run twice and compared bit for bit) costs one extra step per interval, so it matters at k = 10.",
    "Plain time is the mean of a run before and after each pair (shared machine).",
  ].join("\n");
  return {
    name: "commitment-overhead",
    title: "3. Commitment overhead",
    rows,
    settings: { layers, batch, T, ks, threads: 1, optimizer: "adam" },
    markdown: md,
  };
}
