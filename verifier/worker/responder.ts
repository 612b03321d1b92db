/**
 * The responder (op-challenger habit): turns the worker's actions into transaction intents with a
 * stable idempotency key and a purpose tag, and hands them to the sender, the only code that signs.
 * Keys are per job / per challenge, so a restart never sends the same action twice.
 */
import type { Interface } from "ethers";
import type { SendResult, TxIntent } from "../chain/tx-sender";
import type { Hash } from "../protocol/hashing";
import { UPowError } from "../errors";

/** What the responder needs from the sender (chain/tx-sender.ts TxSender implements it). */
export interface Sender {
  send(intent: TxIntent): Promise<SendResult>;
}

export interface SubmitArgs {
  readonly checkpointRoot: Hash;
  readonly finalStateHash: Hash;
  readonly resultURI: string;
  readonly stepRoot0: Hash;
  readonly proof0: readonly Hash[];
  readonly proofLast: readonly Hash[];
}

/** A checkpoint leaf and its proof against the checkpoint root. */
export interface CheckpointAnswer {
  readonly stateHash: Hash;
  readonly stepRoot: Hash;
  readonly proof: readonly Hash[];
}

export class Responder {
  constructor(
    private readonly sender: Sender,
    private readonly jobMarket: { address: string; iface: Interface },
    private readonly dataAvailability: { address: string; iface: Interface } | null,
  ) {}

  claim(jobId: bigint): Promise<SendResult> {
    return this.jm(`claim:${jobId}`, "claim", "claimJob", [jobId]);
  }

  submit(jobId: bigint, a: SubmitArgs): Promise<SendResult> {
    return this.jm(`submit:${jobId}`, "submit", "submitResult", [
      jobId, a.checkpointRoot, a.finalStateHash, a.resultURI, a.stepRoot0, [...a.proof0], [...a.proofLast],
    ]);
  }

  finalize(jobId: bigint): Promise<SendResult> {
    return this.jm(`finalize:${jobId}`, "finalize", "finalize", [jobId]);
  }

  withdraw(jobId: bigint, token: string): Promise<SendResult> {
    return this.jm(`withdraw:${jobId}`, "withdraw", "withdraw", [token]);
  }

  answerChunk(challengeId: bigint, byteLength: number, chunk: Uint8Array, proof: readonly Hash[]): Promise<SendResult> {
    return this.da(`answer-chunk:${challengeId}`, "answer-chunk", "answerChunk", [challengeId, byteLength, chunk, [...proof]]);
  }

  answerCheckpoints(challengeId: bigint, a: CheckpointAnswer, b: CheckpointAnswer): Promise<SendResult> {
    return this.da(`answer-checkpoints:${challengeId}`, "answer-checkpoints", "answerCheckpoints", [
      challengeId, a.stateHash, a.stepRoot, [...a.proof], b.stateHash, b.stepRoot, [...b.proof],
    ]);
  }

  answerStepLeaves(challengeId: bigint, stateHashes: readonly Hash[], rangeProof: readonly Hash[]): Promise<SendResult> {
    return this.da(`answer-step-leaves:${challengeId}`, "answer-step-leaves", "answerStepLeaves", [challengeId, [...stateHashes], [...rangeProof]]);
  }

  private da(key: string, purpose: string, fn: string, args: readonly unknown[]): Promise<SendResult> {
    if (!this.dataAvailability) throw new UPowError("no DataAvailability known: cannot answer availability challenges");
    const data = this.dataAvailability.iface.encodeFunctionData(fn, args);
    return this.sender.send({ key, purpose, to: this.dataAvailability.address, data });
  }

  private jm(key: string, purpose: string, fn: string, args: readonly unknown[]): Promise<SendResult> {
    return this.sender.send({ key, purpose, to: this.jobMarket.address, data: this.jobMarket.iface.encodeFunctionData(fn, args) });
  }
}
