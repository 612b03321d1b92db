/**
 * Signed requests for step states (v3 V7.1): during a job's window its worker serves any state of
 * its trajectory to the job's auditors, challengers and jurors. A requester signs, with its
 * staking address, the EIP-712 message `StateRequest(uint256 jobId, uint256 step, uint64 expiry)`
 * under the domain `{name: "uPoW state request", version: "1", chainId, verifyingContract: JobMarket}`
 * and sends `GET <worker base>/states/<jobId>/<step>` with the headers below. The worker recovers
 * the signer, checks on chain that it is a party of the job, and counts the distinct states it was
 * served against a per-requester quota (a replayed request for the same state costs nothing, so an
 * eavesdropper cannot spend anyone's quota). The role hints (dispute id, commitment) are not signed:
 * the signer must qualify through them anyway.
 */
import { getAddress, verifyTypedData, type TypedDataDomain, type TypedDataField } from "ethers";
import { UPowError } from "./errors";

const STATE_REQUEST_TYPES: Record<string, TypedDataField[]> = {
  StateRequest: [
    { name: "jobId", type: "uint256" },
    { name: "step", type: "uint256" },
    { name: "expiry", type: "uint64" },
  ],
};

export const STATE_REQUEST_HEADERS = {
  /** Unix seconds after which the request is refused. */
  expiry: "x-upow-expiry",
  /** 65-byte EIP-712 signature, 0x hex. */
  signature: "x-upow-signature",
  /** Optional: a live dispute of the job in which the signer is challenger or drawn juror. */
  dispute: "x-upow-dispute",
  /** Optional: the signer's challenge commitment (bytes32) made during the job's window. */
  commitment: "x-upow-commitment",
} as const;

export interface StateRequest {
  readonly jobId: bigint;
  /** Global step t: the state S_t (0 ≤ t ≤ T). */
  readonly step: number;
  /** Unix seconds. */
  readonly expiry: number;
}

export interface StateRequestDomain {
  readonly chainId: bigint;
  /** The JobMarket the job lives in. */
  readonly jobMarket: string;
}

/** Something that signs EIP-712 data (an ethers Wallet or Signer). */
export interface TypedDataSigner {
  signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string>;
}

export class StateRequestError extends UPowError {
  override readonly name = "StateRequestError";
}

function typedDomain(d: StateRequestDomain): TypedDataDomain {
  return { name: "uPoW state request", version: "1", chainId: d.chainId, verifyingContract: getAddress(d.jobMarket) };
}

function value(r: StateRequest): Record<string, unknown> {
  return { jobId: r.jobId, step: BigInt(r.step), expiry: BigInt(r.expiry) };
}

export function signStateRequest(signer: TypedDataSigner, domain: StateRequestDomain, r: StateRequest): Promise<string> {
  return signer.signTypedData(typedDomain(domain), STATE_REQUEST_TYPES, value(r));
}

/** The signer's address; throws StateRequestError for a signature that does not parse. */
export function recoverStateRequester(domain: StateRequestDomain, r: StateRequest, signature: string): string {
  try {
    return verifyTypedData(typedDomain(domain), STATE_REQUEST_TYPES, value(r), signature);
  } catch (cause) {
    throw new StateRequestError("state request signature is malformed", { cause, details: { jobId: r.jobId, step: r.step } });
  }
}

const STATE_PATH = /^\/states\/(0|[1-9][0-9]{0,77})\/(0|[1-9][0-9]{0,14})$/;

export function statePath(jobId: bigint, step: number): string {
  return `/states/${jobId}/${step}`;
}

/** `/states/<jobId>/<step>` → its numbers; null for any other shape (matched raw, never decoded). */
export function parseStatePath(path: string): { jobId: bigint; step: number } | null {
  const m = STATE_PATH.exec(path);
  return m ? { jobId: BigInt(m[1]!), step: Number(m[2]!) } : null;
}
