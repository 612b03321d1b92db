/**
 * The worker's result index, fetched from the on-chain resultURI and accepted only when it is
 * canonical and rebuilds the on-chain checkpoint root, initial and final state hashes. Interval
 * boundaries that differ from their checkpoints are accepted (lenient): that is a cheat the
 * verifier proves on chain (boundaryMismatches), not an index to give up on.
 */
import { parseResultIndex, type ResultIndex } from "../../protocol/resultIndex";
import { UPowError } from "../../errors";
import { ArtifactProblemError } from "../errors";
import type { ArtifactClient } from "./artifacts";
import type { Hash } from "../../engine/hashing";

export interface LoadResultIndexParameters {
  client: ArtifactClient;
  resultURI: string;
  jobId: bigint;
  checkpointRoot: Hash;
  initialStateHash: Hash;
  finalStateHash: Hash;
  totalSteps: bigint;
  checkpointInterval: bigint;
  /** @default 64 MiB */
  maxBytes?: number;
}

export async function loadResultIndex(p: LoadResultIndexParameters): Promise<ResultIndex> {
  const bytes = await p.client.fetchUri(p.resultURI, "result index", p.maxBytes ?? 64 << 20);
  let index: ResultIndex;
  try {
    index = parseResultIndex(bytes, {
      boundaries: "lenient",
      expect: { jobId: p.jobId, checkpointRoot: p.checkpointRoot, initialStateHash: p.initialStateHash, finalStateHash: p.finalStateHash },
    });
  } catch (cause) {
    throw new ArtifactProblemError(`result index is invalid: ${cause instanceof UPowError ? cause.shortMessage : String(cause)}`, {
      cause, unavailable: false, details: { jobId: p.jobId },
    });
  }
  if (BigInt(index.T) !== p.totalSteps || BigInt(index.k) !== p.checkpointInterval) {
    throw new ArtifactProblemError("result index T/k differ from the job", { unavailable: false, details: { jobId: p.jobId, T: index.T, k: index.k } });
  }
  return index;
}
