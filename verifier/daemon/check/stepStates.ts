/**
 * Step states for the audit's single-step checks: from the public mirrors first (the result index's
 * artifact bases), else by a signed request to the worker (v3 V7.1, protocol/stateRequest.ts) —
 * a worker that publishes states only on dispute still owes them to the job's auditors. Whatever
 * arrives is checked against the committed address and state hash before use.
 */
import type { Logger } from "pino";
import {
  signStateRequest,
  STATE_REQUEST_HEADERS,
  statePath,
  type StateRequestDomain,
  type TypedDataSigner,
} from "../../protocol/stateRequest";
import type { ResultIndex } from "../../protocol/resultIndex";
import { ArtifactProblemError, StateRequestRefusedError } from "../errors";
import type { ArtifactClient, LoadedState } from "./artifacts";

/** How this node signs its state requests. */
export interface StateRequestSigning {
  readonly signer: TypedDataSigner;
  readonly domain: StateRequestDomain;
  /** Lifetime of a request, seconds. */
  readonly ttlSec: number;
  /** Chain time (unix seconds): the worker checks expiries against it, not against our clock. */
  readonly now: () => Promise<bigint>;
  /** Limit on one request (ms). @default 30_000 */
  readonly timeoutMs?: number;
}

export interface StepStateFetcherParameters {
  readonly client: ArtifactClient;
  readonly index: ResultIndex;
  readonly jobId: bigint;
  readonly maxStateBytes: number;
  /** Absent: the mirrors only. */
  readonly signing?: StateRequestSigning;
  /** Headers naming our role beyond an assigned auditor's (a dispute id, a commitment). */
  readonly role?: { disputeId?: bigint; commitment?: string };
  readonly logger: Logger;
}

const REFUSALS = new Set([401, 403, 429]);

export function stepStateFetcher(p: StepStateFetcherParameters): (interval: number, j: number) => Promise<LoadedState> {
  return async (interval, j) => {
    const s = p.index.intervals[interval]?.steps[j];
    if (!s) throw new ArtifactProblemError(`state ${interval}.${j} is not in the result index`, { unavailable: false });
    const what = `state ${interval}.${j}`;
    try {
      return await p.client.fetchState(s.stateHash, s.sha256, p.index.artifactBaseUrls, what, p.maxStateBytes);
    } catch (err) {
      // Wrong bytes on a mirror are the worker's fault already; only a state nobody delivered is asked for.
      if (!(err instanceof ArtifactProblemError) || !err.transient || !p.signing) throw err;
      p.logger.info({ interval, j }, "step state not on the mirrors; asking the worker with a signed request");
      return signedFetch(p, p.signing, interval * p.index.k + j, s, what, err);
    }
  };
}

async function signedFetch(
  p: StepStateFetcherParameters,
  signing: StateRequestSigning,
  step: number,
  s: { stateHash: string; sha256: string },
  what: string,
  mirrorError: ArtifactProblemError,
): Promise<LoadedState> {
  const expiry = Number((await signing.now()) + BigInt(signing.ttlSec));
  const signature = await signStateRequest(signing.signer, signing.domain, { jobId: p.jobId, step, expiry });
  const headers: Record<string, string> = { [STATE_REQUEST_HEADERS.expiry]: String(expiry), [STATE_REQUEST_HEADERS.signature]: signature };
  if (p.role?.disputeId !== undefined) headers[STATE_REQUEST_HEADERS.dispute] = p.role.disputeId.toString();
  if (p.role?.commitment !== undefined) headers[STATE_REQUEST_HEADERS.commitment] = p.role.commitment;
  let refused: StateRequestRefusedError | null = null;
  for (const base of p.index.artifactBaseUrls) {
    const url = `${base.replace(/\/+$/, "")}${statePath(p.jobId, step)}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(signing.timeoutMs ?? 30_000) });
    } catch (cause) {
      p.logger.warn({ url, err: cause instanceof Error ? cause.message : String(cause) }, "signed state request failed");
      continue;
    }
    if (REFUSALS.has(res.status)) {
      const body = (await res.json().catch(() => ({}))) as { error?: unknown };
      refused = new StateRequestRefusedError(
        `${what}: the worker refused our signed request: ${typeof body.error === "string" ? body.error.slice(0, 300) : res.statusText}`,
        res.status,
        { url },
      );
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      p.logger.warn({ url, status: res.status }, "signed state request not answered");
      continue;
    }
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > p.maxStateBytes) {
      await res.body?.cancel();
      throw new ArtifactProblemError(`${what} served by signed request is larger than the limit`, {
        unavailable: true,
        details: { url, declared, max: p.maxStateBytes },
      });
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.byteLength > p.maxStateBytes)
      throw new ArtifactProblemError(`${what} served by signed request is larger than the limit`, {
        unavailable: true,
        details: { url, max: p.maxStateBytes },
      });
    return p.client.acceptState(bytes, s.stateHash, s.sha256, what);
  }
  if (refused) throw refused;
  throw mirrorError;
}
