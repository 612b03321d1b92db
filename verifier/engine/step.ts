/**
 * What the trainer, replay and calibration need from a step runner, and the state codec + hash
 * they share. Consumers declare this small interface (op-challenger habit); runner.ts implements it.
 */
import { createHash } from "node:crypto";
import type { Hash } from "../protocol/hashing";
import { fileHashOfOwned, fileHashOfSync } from "./statehash";
import { writeSafetensors } from "./safetensors";
import type { TensorMap } from "./tensor";
import { NondeterminismError } from "./runner";

export interface StepOutput {
  readonly next: TensorMap;
  readonly loss: number;
}

/** One pure training step: `(state_t, batch_t, hp) -> (state_{t+1}, loss)`. */
export interface StepExecutor {
  step(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepOutput>;
}

/** The batch that global step t trains on (the manifest's batch order applied to the data set). */
export type BatchSource = (globalStep: number) => Promise<TensorMap> | TensorMap;

/**
 * Canonical safetensors bytes of a state (same tensors ⇒ same bytes). With `own`, the bytes fill an
 * ArrayBuffer of their own, which hashStateOffThread can move to a hashing worker.
 */
export function encodeState(state: TensorMap, options: { readonly own?: boolean } = {}): Uint8Array {
  return writeSafetensors(state, options);
}

/** State hash = fileHash of the canonical bytes (docs/encoding.md), computed in this thread. */
export function hashStateBytes(bytes: Uint8Array): Hash {
  return fileHashOfSync(bytes);
}

/** Below this a state is hashed in the calling thread: a round trip to a worker costs more. */
const OFF_THREAD_MIN_BYTES = 64 * 1024;

export interface HashedState {
  readonly stateHash: Hash;
  /** The canonical bytes (back from the worker: the ones passed in are no longer usable). */
  readonly bytes: Uint8Array;
  /** Content address (plain sha256, hex) when asked for. */
  readonly address: string | null;
}

/**
 * The same state hash as hashStateBytes, computed in the hashing worker pool so that the calling
 * thread (which runs onnxruntime's step synchronously) can run the next step meanwhile. `bytes` must
 * come from `encodeState(s, { own: true })` and must not be used until this resolves.
 */
export async function hashStateOffThread(bytes: Uint8Array, options: { readonly address?: boolean } = {}): Promise<HashedState> {
  if (bytes.byteLength < OFF_THREAD_MIN_BYTES) {
    return { stateHash: hashStateBytes(bytes), bytes, address: options.address ? contentAddress(bytes) : null };
  }
  const r = await fileHashOfOwned(bytes, { sha256: options.address === true });
  return { stateHash: r.fileHash, bytes: r.bytes, address: r.sha256 };
}

export function stateHash(state: TensorMap): Hash {
  return hashStateBytes(encodeState(state));
}

/** Plain sha256 of bytes, hex without 0x: the content address of a stored file. */
export function contentAddress(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface SingleStepResult extends StepOutput {
  readonly bytes: Uint8Array;
  readonly stateHash: Hash;
}

/** One step plus the canonical bytes and state hash of its result. */
export async function singleStep(
  runner: StepExecutor,
  state: TensorMap,
  batch: TensorMap,
  hp: Readonly<Record<string, number>>,
): Promise<SingleStepResult> {
  const out = await runner.step(state, batch, hp);
  const bytes = encodeState(out.next);
  return { ...out, bytes, stateHash: hashStateBytes(bytes) };
}

/**
 * §3 determinism self-check: runs the step again and requires the exact bytes of `expected`.
 * Throws NondeterminismError otherwise (the worker must then keep every state instead of regenerating).
 */
export async function assertDeterministic(
  runner: StepExecutor,
  state: TensorMap,
  batch: TensorMap,
  hp: Readonly<Record<string, number>>,
  expected: Uint8Array,
  globalStep: number,
): Promise<void> {
  const again = encodeState((await runner.step(state, batch, hp)).next);
  if (!view(again).equals(view(expected))) {
    throw new NondeterminismError("step is not deterministic: two runs gave different states", {
      details: { globalStep, first: hashStateBytes(expected), second: hashStateBytes(again) },
    });
  }
}

/** A Buffer over the same memory (Buffer.from(Uint8Array) would copy it). */
function view(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
