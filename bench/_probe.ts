import { StepRunner } from "../verifier/engine/runner";
import { compareStates } from "../verifier/engine/tolerance";
import { mlpSetup } from "./lib/common";
async function main() {
  for (const [layers, batch] of [[[784, 64, 10], 64], [[784, 128, 10], 64], [[784,256,10],128]] as [number[], number][]) {
    const s = mlpSetup(layers, batch);
    const rs = [];
    for (const [t, o] of [[1, "all"], [2, "all"], [1, "disabled"], [4, "all"]] as const) rs.push(await StepRunner.create({ graph: s.graph, threads: t, optLevel: o }));
    let st = s.initial; const ident = [0, 0, 0]; let maxr = [0, 0, 0];
    const t0 = Date.now();
    for (let t = 0; t < 30; t++) {
      const b = await s.batches(t);
      const o = []; for (const r of rs) o.push((await r.step(st, b, s.hp)).next);
      for (let i = 1; i < 4; i++) { const c = compareStates(st, o[0]!, o[i]!, { deltaUpd: 1e-3, deltaUlp: 1e-6 }); if (c.worstRatio === 0) ident[i-1]++; maxr[i-1] = Math.max(maxr[i-1], c.worstRatio); }
      st = o[0]!;
    }
    console.log(layers.join("-"), batch, ident, maxr, (Date.now() - t0) / 30, "ms/step");
  }
}
main();
