/**
 * ADVERSARIAL worker modes, off by default, for tests and the demo (docs/worker.md):
 *   skip=f    fakes a fraction f of the intervals: every step of a faked interval copies the state
 *             instead of training (the worker commits to those fake states consistently);
 *   noise=x   perturbs the state after one step by x·u, u uniform in [-1, 1) per element;
 *   withhold  serves no state and answers no chunk challenge;
 *   numeric   precision=…, partial=…, reuse, noupdate, drift=… (numericCheats.ts).
 *   index=<mode>[+<cheat>]  publishes a malformed index or withholds leaves (publishCheats.ts).
 * The cheating executor wraps an honest StepExecutor; which step it is at is learnt from the batch
 * source, which the trainer calls with the global step right before running it.
 */
import { createHash } from "node:crypto";
import { UPowError } from "../errors";
import type { BatchSource, StepExecutor, StepOutput } from "../engine/step";
import { isFloatDType, type Tensor, type TensorMap } from "../engine/tensor";
import type { TrainingInputs } from "./stepDecorator";
import { applyNumericCheat, isNumericCheat, parseNumericCheat, type NumericCheatJob, type NumericCheatMode } from "./numericCheats";

export type CheatMode =
  | { readonly kind: "skip"; readonly fraction: number }
  | { readonly kind: "noise"; readonly magnitude: number }
  | { readonly kind: "withhold" }
  | NumericCheatMode
  | PublishCheatMode;

// The publish modes are parsed here, beside the other modes, and carried out by publishCheats.ts:
// parsing them there made cheats.ts and the publishers (→ trainer → cheats.ts) import each other.
const PUBLISH_CHEATS = [
  "pretty",
  "extra-field",
  "bad-step-root",
  "bad-step-root-answered",
  "withhold-steps",
  "withhold-checkpoints",
] as const;
export type PublishCheat = (typeof PUBLISH_CHEATS)[number];
export type TrainingCheat = Exclude<CheatMode, PublishCheatMode>;

export interface PublishCheatMode {
  readonly kind: "publish";
  readonly publish: PublishCheat;
  /** A training cheat done as well (null: the training is honest). */
  readonly train: TrainingCheat | null;
}

export class CheatModeError extends UPowError {
  override readonly name = "CheatModeError";
}

export function parseCheatMode(s: string): CheatMode {
  if (s.startsWith("index=")) return parsePublishCheat(s);
  if (s === "withhold") return { kind: "withhold" };
  const numeric = parseNumericCheat(s);
  if (numeric !== null) return numeric;
  const m = /^(skip|noise)=(.+)$/.exec(s);
  const v = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(v) || v <= 0 || (m[1] === "skip" && v > 1)) {
    throw new CheatModeError(
      "--cheat must be skip=<fraction in (0,1]>, noise=<magnitude > 0>, withhold, index=<mode>[+<cheat>] or a numeric mode (docs/worker.md)",
      { details: { value: s } },
    );
  }
  return m[1] === "skip" ? { kind: "skip", fraction: v } : { kind: "noise", magnitude: v };
}

/** `index=<mode>[+<training cheat>]`. */
function parsePublishCheat(s: string): PublishCheatMode {
  const m = /^index=([a-z-]+)(?:\+(.+))?$/.exec(s);
  const publish = PUBLISH_CHEATS.find((c) => c === m?.[1]);
  if (!m || !publish) throw new CheatModeError(`--cheat index=<mode> needs one of ${PUBLISH_CHEATS.join(", ")}`, { details: { value: s } });
  const train = m[2] === undefined ? null : parseCheatMode(m[2]);
  if (train?.kind === "publish")
    throw new CheatModeError("--cheat index=<mode> combines with a training cheat only", { details: { value: s } });
  return { kind: "publish", publish, train };
}

/** Intervals faked by skip=f: round(f·n) of them (at least one), chosen by a hash of the job id. */
export function fakedIntervals(jobKey: string, intervals: number, fraction: number): Set<number> {
  const count = Math.min(intervals, Math.max(1, Math.round(fraction * intervals)));
  const order = Array.from({ length: intervals }, (_, i) => i).sort((a, b) => rank(jobKey, a).localeCompare(rank(jobKey, b)));
  return new Set(order.slice(0, count));
}

/** Global step whose result noise=x perturbs: the middle step of the middle interval. */
export function noisyStep(T: number, k: number): number {
  const intervals = T / k;
  return Math.floor(intervals / 2) * k + Math.floor(k / 2);
}

function rank(jobKey: string, i: number): string {
  return createHash("sha256").update(`upow.cheat:${jobKey}:${i}`).digest("hex");
}

/** Wraps the runner and batch source so the configured cheat happens; honest when `mode` is null or withhold. */
export function applyCheat(mode: CheatMode | null, honest: TrainingInputs, job: NumericCheatJob): TrainingInputs {
  if (mode?.kind === "publish") return applyCheat(mode.train, honest, job);
  if (mode === null || mode.kind === "withhold") return honest;
  if (isNumericCheat(mode)) return applyNumericCheat(mode, honest, job);
  let current = -1;
  const batches: BatchSource = (t) => {
    current = t;
    return honest.batches(t);
  };
  const faked = mode.kind === "skip" ? fakedIntervals(job.key, job.T / job.k, mode.fraction) : new Set<number>();
  const noisy = mode.kind === "noise" ? noisyStep(job.T, job.k) : -1;
  const runner: StepExecutor = {
    async step(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepOutput> {
      if (faked.has(Math.floor(current / job.k))) return { next: new Map(state), loss: 0 };
      const out = await honest.runner.step(state, batch, hp);
      if (current !== noisy || mode.kind !== "noise") return out;
      return { next: perturb(out.next, mode.magnitude, `${job.key}:${current}`), loss: out.loss };
    },
  };
  return { runner, batches };
}

function perturb(state: TensorMap, x: number, seed: string): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of state)
    out.set(name, isFloatDType(t.dtype) && (t.dtype === "F32" || t.dtype === "F64") ? noisy(t, x, `${seed}:${name}`) : t);
  return out;
}

function noisy(t: Tensor, x: number, seed: string): Tensor {
  const src = t.data as Float32Array | Float64Array;
  const data = t.dtype === "F32" ? new Float32Array(src.length) : new Float64Array(src.length);
  let block = Buffer.alloc(0);
  for (let i = 0; i < src.length; i++) {
    if (i % 8 === 0)
      block = createHash("sha256")
        .update(`${seed}:${i / 8}`)
        .digest();
    const u = block.readUInt32BE((i % 8) * 4) / 2 ** 32;
    data[i] = src[i]! + x * (2 * u - 1);
  }
  return { dtype: t.dtype, shape: t.shape, data };
}
