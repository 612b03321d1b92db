/**
 * Which single steps of a sampled interval an audit checks (v3 V7.2): `u` distinct local steps
 * j ∈ [0, k) of interval i, each checked as claimed S_{ik+j} → one step → claimed S_{ik+j+1}.
 * Derived from the same sample seed as the intervals (docs/encoding.md, protocol/auditSample.ts):
 * `stepSeed = keccak256(abi.encode(STEP_TAG, sampleSeed, i))`, candidates
 * `uint256(keccak256(abi.encode(stepSeed, m))) % k` for m = 0, 1, …, repeats skipped, until
 * `min(u, k)` distinct steps. Nobody knows them before the audit seed is drawn, so a worker cannot
 * place a cheat where no audit looks; anyone can recompute them. Pure.
 */
import { AbiCoder, id, keccak256 } from "ethers";
import { VerifierDaemonError } from "../errors";
import { sampleSeed } from "../../protocol/auditSample";

/** Domain tag: a step draw never equals an interval draw of the same seed. */
const STEP_TAG = id("upow.audit.steps/1");

/**
 * Single steps checked per sampled interval when the operator sets nothing. Thirty-five: the gentlest
 * measured cheat (fp16/TF32-rounded gradient operands, docs/tolerance.md) exceeds the single-step
 * bound (δ_upd floor 3·10⁻³) on ≥ 12.5 % of steps, and the smallest u with 1 − 0.875^u ≥ 99 % is 35
 * (99.07 %; 34 gives 98.93 %); cheats on every step (bf16, partial batches, reused or skipped
 * updates) are caught by any one. With k ≤ 35 every step is checked. Cost per sampled interval: min(u, k) step runs and
 * at most min(2u, k − 1) fetched step states (docs/verifier.md).
 */
export const DEFAULT_SINGLE_STEPS = 35;

export interface AuditStepsParameters {
  auditSeed: string;
  jobId: bigint;
  verifier: string;
  interval: number;
  /** Steps per interval (k ≥ 1). */
  k: number;
  /** Steps to check (u ≥ 0); all k when u ≥ k. */
  u: number;
}

/** Local step indices in draw order. */
export type AuditStepsReturnType = number[];

const coder = AbiCoder.defaultAbiCoder();

export function auditSteps(p: AuditStepsParameters): AuditStepsReturnType {
  for (const [name, v, min] of [
    ["k", p.k, 1],
    ["u", p.u, 0],
    ["interval", p.interval, 0],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min)
      throw new VerifierDaemonError(`${name} must be an integer ≥ ${min}`, { details: { [name]: v } });
  }
  const want = Math.min(p.u, p.k);
  const stepSeed = keccak256(
    coder.encode(["bytes32", "bytes32", "uint256"], [STEP_TAG, sampleSeed(p.auditSeed, p.jobId, p.verifier), p.interval]),
  );
  const out: number[] = [];
  const seen = new Set<number>();
  for (let m = 0n; out.length < want; m++) {
    const j = Number(BigInt(keccak256(coder.encode(["bytes32", "uint256"], [stepSeed, m]))) % BigInt(p.k));
    if (!seen.has(j)) {
      seen.add(j);
      out.push(j);
    }
  }
  return out;
}
