/**
 * The audit sample of docs/encoding.md (twin of AuditManager.sampleOf): seed
 * `keccak256(abi.encode(auditSeed, jobId, verifier))`, candidates
 * `uint256(keccak256(abi.encode(sampleSeed, m))) % (n−1)` for m = 0, 1, …, repeats skipped, until
 * `min(s, n−1)` distinct intervals. Pure; keccak only over 64–96 bytes. Protocol, not daemon: it must
 * equal the chain's draw, and anyone (auditors, tests, the bench) recomputes it.
 */
import { AbiCoder, getAddress, keccak256 } from "ethers";
import { UPowError } from "./errors";

/** The sample was asked for with a checkpoint or sample count the draw is not defined for. */
class AuditSampleError extends UPowError {
  override readonly name = "AuditSampleError";
}

export interface AuditSampleParameters {
  /** bytes32 hex audit seed of the job (JobMarket.auditSeed / AuditManager.getAudit().seed). */
  auditSeed: string;
  jobId: bigint;
  verifier: string;
  /** Checkpoint count n = T/k + 1 (≥ 2). */
  checkpointCount: number;
  /** Intervals per auditor (JobTerms.samplesPerAuditor). */
  samples: number;
}

/** Interval indices in draw order (the order an attestation must name them in). */
export type AuditSampleReturnType = number[];

const coder = AbiCoder.defaultAbiCoder();

export function auditSample(p: AuditSampleParameters): AuditSampleReturnType {
  if (!Number.isSafeInteger(p.checkpointCount) || p.checkpointCount < 2) {
    throw new AuditSampleError("checkpointCount must be an integer ≥ 2", { details: { checkpointCount: p.checkpointCount } });
  }
  if (!Number.isSafeInteger(p.samples) || p.samples < 0) {
    throw new AuditSampleError("samples must be an integer ≥ 0", { details: { samples: p.samples } });
  }
  const intervals = BigInt(p.checkpointCount - 1);
  const s = Math.min(p.samples, p.checkpointCount - 1);
  const seed = sampleSeed(p.auditSeed, p.jobId, p.verifier);
  const out: number[] = [];
  const seen = new Set<number>();
  for (let m = 0n; out.length < s; m++) {
    const c = Number(BigInt(keccak256(coder.encode(["bytes32", "uint256"], [seed, m]))) % intervals);
    if (!seen.has(c)) {
      seen.add(c);
      out.push(c);
    }
  }
  return out;
}

/** `keccak256(abi.encode(auditSeed, jobId, verifier))`: the seed of one verifier's sample of one job. */
export function sampleSeed(auditSeed: string, jobId: bigint, verifier: string): string {
  return keccak256(coder.encode(["bytes32", "uint256", "address"], [auditSeed, jobId, getAddress(verifier)]));
}
