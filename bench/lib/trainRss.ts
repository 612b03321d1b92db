/**
 * Child process of the engine-targets suite (issue 18): trains T steps of an MNIST MLP with the real
 * trainer and prints, as one JSON line, the resident set size just before train() (session open, batch
 * cache filled, hashing worker started) and its peak during training (sampled at every step's progress report).
 *   node -r ts-node/register/transpile-only bench/lib/trainRss.ts <layers> <batch> <T> <k>
 */
import { mlpSetup, now, runner } from "./common";
import { removeDir, tempDir } from "./trajectory";
import { train } from "../../verifier/engine/trainer";
import { fileHashOf } from "../../verifier/engine/statehash";

async function main(): Promise<void> {
  const [layersArg, batchArg, tArg, kArg] = process.argv.slice(2);
  const layers = (layersArg ?? "784,128,10").split(",").map(Number);
  const setup = mlpSetup(layers, Number(batchArg ?? 64));
  const T = Number(tArg ?? 10000);
  const k = Number(kArg ?? 100);
  // Fill the batch cache first (steps 0..numBatches-1 are one epoch: every batch once).
  const cached = new Set<unknown>();
  let cacheBytes = 0;
  for (let t = 0; t < setup.numBatches; t++) {
    const b = await setup.batches(t);
    if (cached.has(b)) continue;
    cached.add(b);
    for (const x of b.values()) cacheBytes += x.data.byteLength;
  }
  const r = await runner(setup.graph, 1, "all");
  await r.step(setup.initial, await setup.batches(0), setup.hp);
  const dir = tempDir(`rss-T${T}`);
  // The hashing worker (a V8 isolate of its own) is a fixed cost: started here so that it is reported apart.
  const beforeWorker = process.memoryUsage.rss();
  await fileHashOf(new Uint8Array(1 << 20), { minParallelBytes: 0 });
  const before = process.memoryUsage.rss();
  let peak = before;
  const t0 = now();
  try {
    await train({
      runner: r,
      initialState: setup.initial,
      batches: setup.batches,
      hp: setup.hp,
      T,
      k,
      dir,
      onProgress: () => {
        peak = Math.max(peak, process.memoryUsage.rss());
      },
    });
  } finally {
    removeDir(dir);
  }
  await r.dispose();
  console.log(
    JSON.stringify({
      layers,
      batch: setup.batchSize,
      T,
      k,
      stateBytes: setup.stateBytes,
      cacheBytes,
      rssBefore: before,
      hashWorkerRss: before - beforeWorker,
      rssPeak: peak,
      seconds: now() - t0,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
