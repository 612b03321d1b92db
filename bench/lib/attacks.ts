/**
 * Cheating trajectories for the detection suite. `copy` is the worker's own `skip` cheat mode
 * (verifier/worker/cheats.ts: every step of a faked interval copies the state, the checkpoint after it
 * equals the one before); `extrapolate` computes one real step per faked interval and repeats that
 * update for the other k−1 steps; `noise` trains honestly but adds x·u (u uniform in [−1, 1)) to every
 * parameter tensor after the last step of each faked interval (model tampering). Faked intervals are
 * the worker's `fakedIntervals` choice in every mode.
 */
import { createHash } from "node:crypto";
import { applyCheat, fakedIntervals } from "../../verifier/worker/cheats";
import type { BatchSource, StepExecutor, StepOutput } from "../../verifier/engine/step";
import type { Tensor, TensorMap } from "../../verifier/engine/tensor";

export type Attack =
  | { readonly kind: "honest" }
  | { readonly kind: "copy"; readonly fraction: number }
  | { readonly kind: "extrapolate"; readonly fraction: number }
  | { readonly kind: "noise"; readonly fraction: number; readonly magnitude: number };

export function attackLabel(a: Attack): string {
  switch (a.kind) {
    case "honest":
      return "honest";
    case "copy":
      return `copy previous state, f=${a.fraction * 100}%`;
    case "extrapolate":
      return `extrapolate 1 real step, f=${a.fraction * 100}%`;
    case "noise":
      return `noise ${a.magnitude} on parameters, f=${a.fraction * 100}%`;
  }
}

/** Fraction of the k steps of a faked interval that the cheater does not compute. */
export function savedFraction(a: Attack, k: number): number {
  switch (a.kind) {
    case "honest":
      return 0;
    case "copy":
      return 1;
    case "extrapolate":
      return (k - 1) / k;
    case "noise":
      return 0;
  }
}

export interface CheatingInputs {
  readonly runner: StepExecutor;
  readonly batches: BatchSource;
  readonly faked: ReadonlySet<number>;
}

export function cheatingInputs(
  a: Attack,
  honest: { runner: StepExecutor; batches: BatchSource },
  job: { key: string; T: number; k: number },
): CheatingInputs {
  const n = job.T / job.k;
  if (a.kind === "honest") return { ...honest, faked: new Set() };
  const faked = fakedIntervals(job.key, n, a.fraction);
  if (a.kind === "copy") return { ...applyCheat({ kind: "skip", fraction: a.fraction }, honest, job), faked };
  let current = -1;
  const batches: BatchSource = (t) => {
    current = t;
    return honest.batches(t);
  };
  let delta: TensorMap | null = null;
  const runner: StepExecutor = {
    async step(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepOutput> {
      const interval = Math.floor(current / job.k);
      const local = current % job.k;
      if (!faked.has(interval)) return honest.runner.step(state, batch, hp);
      if (a.kind === "extrapolate") {
        if (local === 0) {
          const out = await honest.runner.step(state, batch, hp);
          delta = diff(out.next, state);
          return out;
        }
        return { next: add(state, delta!, 1), loss: 0 };
      }
      const out = await honest.runner.step(state, batch, hp);
      if (local !== job.k - 1) return out;
      return { next: perturbParams(out.next, a.magnitude, `${job.key}:${current}`), loss: out.loss };
    },
  };
  return { runner, batches, faked };
}

function diff(a: TensorMap, b: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, ta] of a) {
    const tb = b.get(name)!;
    if (ta.dtype === "F32") {
      const x = ta.data as Float32Array;
      const y = tb.data as Float32Array;
      const d = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) d[i] = x[i]! - y[i]!;
      out.set(name, { dtype: "F32", shape: ta.shape, data: d });
    } else if (ta.dtype === "I64") {
      const x = ta.data as BigInt64Array;
      const y = tb.data as BigInt64Array;
      out.set(name, { dtype: "I64", shape: ta.shape, data: x.map((v, i) => v - y[i]!) });
    }
  }
  return out;
}

function add(state: TensorMap, d: TensorMap, scale: number): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of state) {
    const dt = d.get(name);
    if (dt === undefined) {
      out.set(name, t);
    } else if (t.dtype === "F32") {
      const x = t.data as Float32Array;
      const y = dt.data as Float32Array;
      out.set(name, { dtype: "F32", shape: t.shape, data: x.map((v, i) => v + scale * y[i]!) });
    } else {
      const x = t.data as BigInt64Array;
      const y = dt.data as BigInt64Array;
      out.set(name, { dtype: t.dtype, shape: t.shape, data: x.map((v, i) => v + y[i]!) });
    }
  }
  return out;
}

/** Adds x·u to the model parameters (`fc*`), leaving optimizer state alone (Adam's v must stay ≥ 0). */
function perturbParams(state: TensorMap, x: number, seed: string): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of state) {
    if (!name.startsWith("fc") || t.dtype !== "F32") {
      out.set(name, t);
      continue;
    }
    const src = t.data as Float32Array;
    const data = new Float32Array(src.length);
    let block = Buffer.alloc(0);
    for (let i = 0; i < src.length; i++) {
      if (i % 8 === 0)
        block = createHash("sha256")
          .update(`${seed}:${name}:${i / 8}`)
          .digest();
      data[i] = src[i]! + x * (2 * (block.readUInt32BE((i % 8) * 4) / 2 ** 32) - 1);
    }
    out.set(name, { dtype: "F32", shape: t.shape, data } satisfies Tensor);
  }
  return out;
}
