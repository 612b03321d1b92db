/**
 * Deterministic initial state: a sha256-counter PRNG keyed by (seed, tensor name), uniform
 * He (relu/gelu) or Xavier (tanh) init for weights, zeros for biases and optimizer slots.
 * Only +, −, ×, ÷ and sqrt (correctly rounded in IEEE 754) touch the values, so every machine
 * produces the same bytes.
 */
import { createHash } from "node:crypto";
import type { Tensor, TensorMap } from "../tensor";
import { elementCount } from "../tensor";
import { ModelSpecError } from "./errors";
import { type ModelSpec, paramInfos, stateLayout } from "./spec";

const DOMAIN = Buffer.from("upow.init.v1", "ascii");

/**
 * Uniform floats in [0, 1) from sha256(domain ‖ u32 len(seed) ‖ seed ‖ u32 len(name) ‖ name ‖ u64 counter),
 * 8 values of 24 bits per block.
 */
export function uniformStream(seed: Uint8Array, name: string, count: number): Float64Array {
  const nameBytes = Buffer.from(name, "utf8");
  const header = Buffer.alloc(8);
  header.writeUInt32BE(seed.length, 0);
  header.writeUInt32BE(nameBytes.length, 4);
  const prefix = Buffer.concat([DOMAIN, header.subarray(0, 4), seed, header.subarray(4, 8), nameBytes]);
  const out = new Float64Array(count);
  const ctr = Buffer.alloc(8);
  for (let block = 0, i = 0; i < count; block++) {
    ctr.writeBigUInt64BE(BigInt(block));
    const digest = createHash("sha256").update(prefix).update(ctr).digest();
    for (let j = 0; j < 8 && i < count; j++, i++) {
      out[i] = ((digest.readUInt32BE(j * 4) >>> 8) + 0.5) / 16777216;
    }
  }
  return out;
}

function seedBytes(seed: string | Uint8Array): Uint8Array {
  if (typeof seed === "string") return Buffer.from(seed, "utf8");
  if (seed instanceof Uint8Array) return seed;
  throw new ModelSpecError("seed must be a string or bytes");
}

/** The initial TensorMap for `spec` (sorted by name). */
export function initState(spec: ModelSpec, seed: string | Uint8Array): TensorMap {
  const sb = seedBytes(seed);
  const params = new Map(paramInfos(spec).map((p) => [p.name, p]));
  const state: TensorMap = new Map();
  for (const e of stateLayout(spec)) {
    let t: Tensor;
    if (e.dtype === "I64") {
      t = { dtype: "I64", shape: [...e.shape], data: new BigInt64Array(elementCount(e.shape)) };
    } else {
      const data = new Float32Array(elementCount(e.shape));
      const p = params.get(e.name);
      if (p !== undefined && p.kind === "weight") {
        const [fanOut, fanIn] = p.shape;
        const bound = spec.activation === "tanh" ? Math.sqrt(6 / (fanIn + fanOut)) : Math.sqrt(6 / fanIn);
        const u = uniformStream(sb, e.name, data.length);
        for (let i = 0; i < data.length; i++) data[i] = (2 * u[i] - 1) * bound;
      }
      t = { dtype: "F32", shape: [...e.shape], data };
    }
    state.set(e.name, t);
  }
  return state;
}
