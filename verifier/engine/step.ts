/**
 * What the trainer, replay and calibration need from a step runner, and the state codec + hash
 * they share. Consumers declare this small interface (op-challenger habit); runner.ts implements it.
 */
import { createHash } from "node:crypto";
import type { Hash } from "../protocol/hashing";
import { fileHashOfSync } from "./statehash";
import { writeSafetensors } from "./safetensors";
import type { TensorMap } from "./tensor";
import { NondeterminismError } from "./trainErrors";

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

/** Canonical safetensors bytes of a state (same tensors ⇒ same bytes). */
export function encodeState(state: TensorMap): Uint8Array {
  return writeSafetensors(state);
}

/** State hash = fileHash of the canonical bytes (docs/encoding.md), computed in this thread. */
export function hashStateBytes(bytes: Uint8Array): Hash {
  return fileHashOfSync(bytes);
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
  runner: StepExecutor, state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>,
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
  runner: StepExecutor, state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>,
  expected: Uint8Array, globalStep: number,
): Promise<void> {
  const again = encodeState((await runner.step(state, batch, hp)).next);
  if (!Buffer.from(again).equals(Buffer.from(expected))) {
    throw new NondeterminismError("step is not deterministic: two runs gave different states", {
      details: { globalStep, first: hashStateBytes(expected), second: hashStateBytes(again) },
    });
  }
}
