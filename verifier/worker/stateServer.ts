/**
 * The worker's answer to signed step-state requests (v3 V7.1): StateAccess decides who may have
 * which state; the state comes from the store, the checkpoint directory, or a replay checked
 * against the committed step root (states.ts). Also the contracts' views StateAccess reads.
 */
import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import type { AuditManager, DisputeManager, JobMarket } from "../../typechain-types";
import { UPowError } from "../errors";
import { JobStatus } from "../protocol/enums";
import type { StateRequestHandler } from "../store";
import type { StateAccess, StateAccessChain } from "./stateAccess";

export interface StateRequestHandlerParameters {
  readonly access: StateAccess;
  /** The committed bytes of S_step of a job of ours (regenerated if need be). */
  readonly stateBytes: (jobId: bigint, step: number) => Promise<Uint8Array>;
  /** ADVERSARIAL `withhold` mode: serve nothing. */
  readonly withhold: boolean;
  readonly logger: Logger;
}

export function stateRequestHandler(p: StateRequestHandlerParameters): StateRequestHandler {
  return async (jobId, step, headers) => {
    if (p.withhold) return { status: 503, error: "not serving" };
    const d = await p.access.authorize(jobId, step, headers);
    if (!d.ok) return { status: d.status, error: d.error };
    try {
      const bytes = await p.stateBytes(jobId, step);
      p.logger.info({ jobId: jobId.toString(), step, requester: d.requester, role: d.role }, "step state served on signed request");
      return { status: 200, bytes };
    } catch (err) {
      d.release();
      if (!(err instanceof UPowError)) throw err;
      p.logger.error({ jobId: jobId.toString(), step, err: err.shortMessage }, "step state could not be served");
      return { status: 503, error: `state ${step} of job ${jobId} cannot be served now: ${err.shortMessage}` };
    }
  };
}

/** StateAccessChain over the deployed contracts (reads at the latest block). */
export function contractStateAccessChain(c: {
  jobMarket: Pick<JobMarket, "getJob">;
  auditManager: Pick<AuditManager, "isAuditor">;
  disputeManager: Pick<DisputeManager, "isChallengeParty" | "getCommitment" | "params"> | null;
  now: () => Promise<bigint>;
}): StateAccessChain {
  return {
    job: async (jobId) => {
      const j = await c.jobMarket.getJob(jobId);
      if (j.worker === ZeroAddress && Number(j.status) === JobStatus.None) return null;
      return {
        worker: j.worker,
        status: Number(j.status),
        submittedBlock: j.submittedBlock,
        windowEnd: j.windowEnd,
        totalSteps: j.totalSteps,
      };
    },
    isAuditor: (jobId, account) => c.auditManager.isAuditor(jobId, account),
    isChallengeParty: async (jobId, disputeId, account) =>
      c.disputeManager ? c.disputeManager.isChallengeParty(jobId, disputeId, account) : false,
    commitment: async (commitment) => {
      if (!c.disputeManager) return null;
      const r = await c.disputeManager.getCommitment(commitment);
      return r.challenger === ZeroAddress
        ? null
        : { challenger: r.challenger, committedBlock: r.committedBlock, committedAt: r.committedAt };
    },
    commitTTL: async () => (c.disputeManager ? BigInt((await c.disputeManager.params()).commitTTL) : 0n),
    now: c.now,
  };
}
