/**
 * Who may fetch a step state from this worker (v3 V7.1): a signed request (protocol/stateRequest.ts)
 * from an account that is, by the contracts' own views,
 *   - an assigned auditor of the job (AuditManager.isAuditor), during the window;
 *   - the challenger or a drawn juror of a live dispute of the job (DisputeManager.isChallengeParty,
 *     the rule availability challenges use, V4.1), for as long as the dispute lives;
 *   - the owner of a challenge commitment mined after the job's submission and still usable, during
 *     the window. A commitment hides its job until the dispute opens, so it cannot be tied to this
 *     job without revealing it; its bond and the quota bound what it buys.
 * Each requester gets at most `quota` distinct states per job (durable in the journal); asking again
 * for a state already served is free. Everything else is refused with a status that says why:
 * 401 unsigned, malformed, expired or too long-lived; 403 not a party (or window over); 404 not a
 * submitted job of ours or no such step; 429 over quota.
 */
import { getAddress } from "ethers";
import type { KeyValueStore } from "../chain/journal";
import { recoverStateRequester, STATE_REQUEST_HEADERS, StateRequestError, type StateRequestDomain } from "../protocol/stateRequest";

/** What the rule reads on chain (views of JobMarket, AuditManager, DisputeManager). */
export interface StateAccessChain {
  /** null when no such job exists. */
  job(jobId: bigint): Promise<{ worker: string; status: number; submittedBlock: bigint; windowEnd: bigint; totalSteps: bigint } | null>;
  isAuditor(jobId: bigint, account: string): Promise<boolean>;
  isChallengeParty(jobId: bigint, disputeId: bigint, account: string): Promise<boolean>;
  /** null when unknown (challenger = zero address). */
  commitment(commitment: string): Promise<{ challenger: string; committedBlock: bigint; committedAt: bigint } | null>;
  commitTTL(): Promise<bigint>;
  /** Timestamp of the latest block. */
  now(): Promise<bigint>;
}

export interface StateAccessPolicy {
  /** Distinct states one requester may fetch per job. */
  readonly quota: number;
  /** Longest accepted lifetime of a request (expiry − now), seconds. */
  readonly maxTtlSec: number;
}

export type StateAccessRole = "auditor" | "dispute-party" | "committed-challenger";

export type StateAccessDecision =
  | { readonly ok: true; readonly requester: string; readonly role: StateAccessRole; readonly release: () => void }
  | { readonly ok: false; readonly status: 400 | 401 | 403 | 404 | 429; readonly error: string };

export interface StateAccessParameters {
  readonly chain: StateAccessChain;
  readonly domain: StateRequestDomain;
  readonly policy: StateAccessPolicy;
  /** This worker's address: only its own jobs are served. */
  readonly worker: string;
  /** Where served states are counted (the worker's journal). */
  readonly kv: KeyValueStore;
}

const SUBMITTED = 3;
const HEX_SIG = /^0x[0-9a-fA-F]{130}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

export class StateAccess {
  readonly #p: StateAccessParameters;

  constructor(p: StateAccessParameters) {
    this.#p = p;
  }

  /** Decides one request; on `ok` the state is counted (call `release` if it could not be served). */
  async authorize(
    jobId: bigint,
    step: number,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): Promise<StateAccessDecision> {
    const header = (name: string): string | undefined => {
      const v = headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const expiryText = header(STATE_REQUEST_HEADERS.expiry);
    const signature = header(STATE_REQUEST_HEADERS.signature);
    if (expiryText === undefined || signature === undefined) {
      return deny(401, `state requests must be signed (${STATE_REQUEST_HEADERS.expiry}, ${STATE_REQUEST_HEADERS.signature})`);
    }
    if (!/^[0-9]{1,12}$/.test(expiryText)) return deny(401, `${STATE_REQUEST_HEADERS.expiry} must be unix seconds`);
    if (!HEX_SIG.test(signature)) return deny(401, `${STATE_REQUEST_HEADERS.signature} must be a 65-byte 0x-hex signature`);
    const expiry = Number(expiryText);
    const now = await this.#p.chain.now();
    if (BigInt(expiry) < now) return deny(401, `request expired at ${expiry} (chain time ${now})`);
    if (BigInt(expiry) > now + BigInt(this.#p.policy.maxTtlSec))
      return deny(401, `request expiry ${expiry} is more than ${this.#p.policy.maxTtlSec}s ahead of chain time ${now}`);
    let requester: string;
    try {
      requester = recoverStateRequester(this.#p.domain, { jobId, step, expiry }, signature);
    } catch (err) {
      if (err instanceof StateRequestError) return deny(401, err.shortMessage);
      throw err;
    }

    const job = await this.#p.chain.job(jobId);
    if (job === null || job.status !== SUBMITTED || getAddress(job.worker) !== getAddress(this.#p.worker)) {
      return deny(404, `job ${jobId} is not a submitted job of this worker`);
    }
    if (BigInt(step) > job.totalSteps) return deny(404, `job ${jobId} has no step ${step} (T = ${job.totalSteps})`);

    const role = await this.#role(jobId, requester, job, now, header);
    if (typeof role !== "string") return role;

    // Counted in the same synchronous block as the check: concurrent requests cannot overrun it.
    const key = `worker:state-quota:${jobId}:${requester.toLowerCase()}`;
    const served: number[] = JSON.parse(this.#p.kv.get(key) ?? "[]") as number[];
    if (!served.includes(step)) {
      if (served.length >= this.#p.policy.quota)
        return deny(429, `requester ${requester} used its quota of ${this.#p.policy.quota} states of job ${jobId}`);
      this.#p.kv.put(key, JSON.stringify([...served, step]));
    }
    const release = (): void => {
      if (served.includes(step)) return;
      const now2: number[] = JSON.parse(this.#p.kv.get(key) ?? "[]") as number[];
      this.#p.kv.put(key, JSON.stringify(now2.filter((s) => s !== step)));
    };
    return { ok: true, requester, role, release };
  }

  async #role(
    jobId: bigint,
    requester: string,
    job: { submittedBlock: bigint; windowEnd: bigint },
    now: bigint,
    header: (n: string) => string | undefined,
  ): Promise<StateAccessRole | StateAccessDecision> {
    const dispute = header(STATE_REQUEST_HEADERS.dispute);
    if (dispute !== undefined) {
      if (!DECIMAL.test(dispute)) return deny(400, `${STATE_REQUEST_HEADERS.dispute} must be a decimal dispute id`);
      if (await this.#p.chain.isChallengeParty(jobId, BigInt(dispute), requester)) return "dispute-party";
      return deny(403, `requester ${requester} is neither the challenger nor a drawn juror of live dispute ${dispute} of job ${jobId}`);
    }
    if (now > job.windowEnd) return deny(403, `job ${jobId}'s challenge window is over; only parties of a live dispute are served`);
    const commitment = header(STATE_REQUEST_HEADERS.commitment);
    if (commitment !== undefined) {
      if (!BYTES32.test(commitment)) return deny(400, `${STATE_REQUEST_HEADERS.commitment} must be a 0x-hex bytes32`);
      const c = await this.#p.chain.commitment(commitment);
      const usable =
        c !== null &&
        getAddress(c.challenger) === getAddress(requester) &&
        c.committedBlock > job.submittedBlock &&
        c.committedAt + (await this.#p.chain.commitTTL()) >= now;
      if (usable) return "committed-challenger";
      return deny(403, `commitment ${commitment} is not a usable commitment of ${requester} made after job ${jobId} was submitted`);
    }
    if (await this.#p.chain.isAuditor(jobId, requester)) return "auditor";
    return deny(403, `requester ${requester} is not an assigned auditor, challenger or drawn juror of job ${jobId}`);
  }
}

function deny(status: 400 | 401 | 403 | 404 | 429, error: string): StateAccessDecision {
  return { ok: false, status, error };
}
