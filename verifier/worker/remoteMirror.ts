/**
 * Mirroring a job's published result to a remote store (S3, verifier/store/s3Store.ts) so readers
 * fetch it while this worker is offline. What goes is what the publisher put into the LocalStore
 * for the job, read back from the index: every state the index lists that the store holds (the
 * checkpoints; the step states with eager publishing; none of what a cheating publisher withheld)
 * and the index itself. Runs before the submission, whose resultURI names the remote.
 */
import type { Logger } from "pino";
import { mirrorToRemote, type LocalStore, type RemoteArtifactStore } from "../store";
import type { ResultIndex } from "../protocol/resultIndex";

/** Every store address an index names (checkpoints and all interval states), then the index's own. */
function indexedAddresses(index: ResultIndex, indexAddress: string): string[] {
  const all = new Set<string>();
  for (const c of index.checkpoints) all.add(c.sha256);
  for (const r of index.intervals) for (const s of r.steps) all.add(s.sha256);
  all.add(indexAddress);
  return [...all];
}

export interface MirrorResultParameters {
  readonly index: ResultIndex;
  readonly indexAddress: string;
  readonly store: LocalStore;
  readonly remote: RemoteArtifactStore;
  readonly logger: Logger;
}

/** Uploads what the store holds of the index's addresses; returns how many were uploaded (the rest were there). */
export async function mirrorResult(p: MirrorResultParameters): Promise<number> {
  const held: string[] = [];
  for (const a of indexedAddresses(p.index, p.indexAddress)) if (await p.store.has(a)) held.push(a);
  const started = Date.now();
  const uploaded = await mirrorToRemote(p.store, p.remote, held);
  p.logger.info(
    { remote: p.remote.location, artifacts: held.length, uploaded, ms: Date.now() - started },
    "result mirrored to the remote store",
  );
  return uploaded;
}
