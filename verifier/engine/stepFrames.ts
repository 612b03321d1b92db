/**
 * The byte framing between ProcessStepRunner and its step process: `u32le headerLength ‖ header
 * JSON ‖ payload`, the payload being raw tensor bytes (or the graph). Tensors cross a pipe as views,
 * written without serialising them on the event loop (v8 serialisation of a 20 MB state blocked it
 * for ~0.3 s here); the reader copies each tensor once into its own aligned buffer.
 */
import { UPowError } from "../errors";
import { typedArray } from "./safetensors";
import type { DType, TensorMap } from "./tensor";

/** A frame broke the framing (never expected between the two ends of one pipe). */
export class StepFrameError extends UPowError {
  override readonly name = "StepFrameError";
}

export interface FrameTensor {
  readonly set: string;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly bytes: number;
}

export interface Frame<H> {
  readonly header: H;
  /** The payload as it arrived (views of the stream's chunks, not concatenated). */
  readonly payload: readonly Buffer[];
}

const MAX_HEADER = 16 << 20;

/** The chunks of one frame; tensor bytes are views, not copies. */
export function encodeFrame(header: object, parts: readonly Uint8Array[] = []): Buffer[] {
  const payloadBytes = parts.reduce((s, p) => s + p.byteLength, 0);
  const h = Buffer.from(JSON.stringify({ ...header, payloadBytes }), "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  return [len, h, ...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))];
}

/** Tensor descriptors and byte views of named tensor sets, in set then map order. */
export function tensorParts(sets: Readonly<Record<string, TensorMap>>): { tensors: FrameTensor[]; parts: Uint8Array[] } {
  const tensors: FrameTensor[] = [];
  const parts: Uint8Array[] = [];
  for (const [set, map] of Object.entries(sets)) {
    for (const [name, t] of map) {
      tensors.push({ set, name, dtype: t.dtype, shape: [...t.shape], bytes: t.data.byteLength });
      parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return { tensors, parts };
}

/** A payload as one buffer (the graph of an "open" frame). */
export function joinPayload(payload: readonly Buffer[]): Buffer {
  return payload.length === 1 ? payload[0]! : Buffer.concat(payload);
}

/**
 * Rebuilds the tensor sets of a payload, each tensor copied once from the chunks into its own
 * aligned buffer (no payload-sized intermediate: less garbage, fewer GC pauses on the event loop).
 */
export function readTensors(tensors: readonly FrameTensor[], payload: readonly Buffer[]): Map<string, TensorMap> {
  const out = new Map<string, TensorMap>();
  let chunk = 0;
  let at = 0;
  for (const t of tensors) {
    const copy = new ArrayBuffer(t.bytes);
    const dst = new Uint8Array(copy);
    for (let got = 0; got < t.bytes;) {
      const c = payload[chunk];
      if (!c) throw new StepFrameError("frame payload is shorter than its tensors", { details: { tensor: t.name } });
      const k = Math.min(c.length - at, t.bytes - got);
      dst.set(c.subarray(at, at + k), got);
      got += k;
      at += k;
      if (at === c.length) {
        chunk++;
        at = 0;
      }
    }
    let set = out.get(t.set);
    if (!set) out.set(t.set, (set = new Map()));
    set.set(t.name, { dtype: t.dtype, shape: [...t.shape], data: typedArray(t.dtype, copy) });
  }
  return out;
}

/** Reassembles frames from stream chunks; each stage is concatenated once, so a frame costs O(size). */
export class FrameReader<H extends { payloadBytes: number }> {
  #chunks: Buffer[] = [];
  #have = 0;
  #header: H | undefined;
  #headerLen: number | undefined;

  push(chunk: Buffer): Frame<H>[] {
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    const frames: Frame<H>[] = [];
    for (;;) {
      if (this.#headerLen === undefined) {
        if (this.#have < 4) return frames;
        this.#headerLen = this.#take(4).readUInt32LE(0);
        if (this.#headerLen > MAX_HEADER) throw new StepFrameError("frame header too long", { details: { bytes: this.#headerLen } });
      }
      if (this.#header === undefined) {
        if (this.#have < this.#headerLen) return frames;
        this.#header = JSON.parse(this.#take(this.#headerLen).toString("utf8")) as H;
      }
      if (this.#have < this.#header.payloadBytes) return frames;
      frames.push({ header: this.#header, payload: this.#takeChunks(this.#header.payloadBytes) });
      this.#header = undefined;
      this.#headerLen = undefined;
    }
  }

  #takeChunks(n: number): Buffer[] {
    const out: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - got);
      out.push(k === c.length ? c : c.subarray(0, k));
      got += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#have -= n;
    return out;
  }

  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - got);
      c.copy(out, got, 0, k);
      got += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#have -= n;
    return out;
  }
}

/** A float64 as 16 hex digits: NaN, ±Infinity and −0 survive JSON. */
export function f64ToHex(x: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return b.toString("hex");
}

export function hexToF64(h: string): number {
  return Buffer.from(h, "hex").readDoubleLE(0);
}
