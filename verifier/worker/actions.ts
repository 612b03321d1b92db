/**
 * The worker's transactions as typed actions (runtime/responder.ts encodes and sends them). Keys
 * are per job / per challenge and are the journal's: a restart never sends the same action twice,
 * so they must not change between versions.
 */
import type { DataAvailability, JobMarket } from "../../typechain-types";
import type { Hash } from "../protocol/hashing";
import { contractCall, type ContractAction } from "../runtime/responder";

export interface SubmitArgs {
  readonly checkpointRoot: Hash;
  readonly finalStateHash: Hash;
  readonly resultURI: string;
  readonly stepRoot0: Hash;
  readonly proof0: readonly Hash[];
  readonly proofLast: readonly Hash[];
}

/** A checkpoint leaf and its proof against the checkpoint root. */
interface CheckpointAnswer {
  readonly stateHash: Hash;
  readonly stepRoot: Hash;
  readonly proof: readonly Hash[];
}

export function claimJob(jm: JobMarket, jobId: bigint): ContractAction {
  return contractCall(jm, "claimJob", [jobId], { key: `claim:${jobId}`, purpose: "claim" });
}

export function submitResult(jm: JobMarket, jobId: bigint, a: SubmitArgs): ContractAction {
  return contractCall(
    jm,
    "submitResult",
    [jobId, a.checkpointRoot, a.finalStateHash, a.resultURI, a.stepRoot0, [...a.proof0], [...a.proofLast]],
    {
      key: `submit:${jobId}`,
      purpose: "submit",
    },
  );
}

export function finalizeJob(jm: JobMarket, jobId: bigint): ContractAction {
  return contractCall(jm, "finalize", [jobId], { key: `finalize:${jobId}`, purpose: "finalize" });
}

/** The job's payment-token credit; keyed by the job whose finalization credited it. */
export function withdrawCredit(jm: JobMarket, jobId: bigint, token: string): ContractAction {
  return contractCall(jm, "withdraw", [token], { key: `withdraw:${jobId}`, purpose: "withdraw" });
}

export function answerChunk(
  da: DataAvailability,
  challengeId: bigint,
  byteLength: number,
  chunk: Uint8Array,
  proof: readonly Hash[],
): ContractAction {
  return contractCall(da, "answerChunk", [challengeId, byteLength, chunk, [...proof]], {
    key: `answer-chunk:${challengeId}`,
    purpose: "answer-chunk",
  });
}

export function answerCheckpoints(da: DataAvailability, challengeId: bigint, a: CheckpointAnswer, b: CheckpointAnswer): ContractAction {
  return contractCall(
    da,
    "answerCheckpoints",
    [challengeId, a.stateHash, a.stepRoot, [...a.proof], b.stateHash, b.stepRoot, [...b.proof]],
    {
      key: `answer-checkpoints:${challengeId}`,
      purpose: "answer-checkpoints",
    },
  );
}

export function answerStepLeaves(
  da: DataAvailability,
  challengeId: bigint,
  stateHashes: readonly Hash[],
  rangeProof: readonly Hash[],
): ContractAction {
  return contractCall(da, "answerStepLeaves", [challengeId, [...stateHashes], [...rangeProof]], {
    key: `answer-step-leaves:${challengeId}`,
    purpose: "answer-step-leaves",
  });
}
