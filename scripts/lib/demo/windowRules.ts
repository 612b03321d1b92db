/**
 * When may the keeper jump over a Submitted job's challenge window? Once nobody still needs it:
 * every verifier that could dispute has had its chance. Two sources of that knowledge:
 *   - auditLogWindowRule: the in-process demo sees its verifiers' logs ("audit finished");
 *   - onChainWindowRule: `upow:fast-forward` sees only the chain (issue 15: the examples' old
 *     FAST_FORWARD jumped at submission, before any audit, and a skip=0.4 cheater was paid).
 */
import type { UPowContracts } from "../../../verifier/chain/registry";
import { Phase } from "../../../verifier/protocol/enums";
import { type DisputeFact, type TickFacts, type WindowJob, type WindowRule, type WindowVerdict } from "./timeKeeper";

/** AuditManager.AuditorState.Attested */
const ATTESTED = 2n;

export interface AuditLogWindowRuleParameters {
  /** Where the verifiers' audits of a job stand: how many finished, how many failed, of how many. */
  audits: (jobId: bigint) => { done: number; failed: number; total: number };
  /** Wall-clock ms after which a window whose audits still run is closed anyway. */
  windowGraceMs: number;
}

/**
 * The demo's rule: every verifier's audit passed, or the audits are done and every verifier whose
 * audit failed has its own dispute (v3: one per challenger); then the disputes run on past the
 * window. A failed audit without its dispute holds the window, up to the window grace.
 */
export function auditLogWindowRule(p: AuditLogWindowRuleParameters): WindowRule {
  return async (job, facts) => {
    const a = p.audits(job.jobId);
    const challengers = new Set(facts.disputesOf(job.jobId).map((d) => d.challenger)).size;
    if (a.done >= a.total && a.failed === 0) return { ready: true, why: "every audit passed" };
    if (a.done >= a.total && challengers >= a.failed) return { ready: true, why: "every failed audit has its dispute" };
    if (facts.heldFor(`window:${job.jobId}`, p.windowGraceMs)) return { ready: true, why: "window grace over" };
    return { ready: false, why: `${a.done}/${a.total} audits done, ${a.failed} failed, ${challengers} disputes` };
  };
}

export interface OnChainWindowRuleParameters {
  contracts: UPowContracts;
  /**
   * Wall-clock ms after the keeper first sees a job Submitted before its window may pass: the time
   * independent verifiers (not drawn, no on-chain trace until they dispute) get for their own audits.
   * @default 60_000
   */
  floorMs?: number;
  /** Wall-clock ms an open dispute holds its job's window (others whose audits failed open theirs). @default floorMs */
  disputeHoldMs?: number;
}

/** What the assigned auditors of a job have done (pure): each attested or opened its own dispute. */
export function auditorsOutstanding(auditors: readonly { address: string; state: bigint }[], disputes: readonly DisputeFact[]): string[] {
  const challengers = new Set(disputes.map((d) => d.challenger.toLowerCase()));
  return auditors.filter((a) => a.state !== ATTESTED && !challengers.has(a.address.toLowerCase())).map((a) => a.address);
}

/**
 * The window passes only when, at the tick's block: the auditors are drawn and each attested or
 * disputed; no challenge commitment made since the submission is still usable (someone is about
 * to open a dispute); every open dispute of the job has held it for `disputeHoldMs`; and the
 * wall-clock floor since submission is over. There is no grace: an assigned auditor that never
 * answers holds the window until it ends by itself.
 */
export function onChainWindowRule(p: OnChainWindowRuleParameters): WindowRule {
  const floorMs = p.floorMs ?? 60_000;
  const holdMs = p.disputeHoldMs ?? floorMs;
  const { auditManager: am, disputeManager: dm } = p.contracts;
  return async (job: WindowJob, facts: TickFacts): Promise<WindowVerdict> => {
    const bt = { blockTag: facts.head.number };
    // Every clock starts at first sight, whatever else holds the window meanwhile.
    const floorOver = facts.heldFor(`submitted:${job.jobId}`, floorMs);
    const disputes = facts.disputesOf(job.jobId);
    const open = disputes.filter((d) => d.phase !== Phase.Closed);
    const holding = open.filter((d) => !facts.heldFor(`dispute:${d.id}`, holdMs));
    const audit = await am.getAudit(job.jobId, bt);
    if (!audit.drawn) return { ready: false, why: "auditors not drawn yet" };
    const auditors = await am.auditorsOf(job.jobId, bt);
    const states = await Promise.all(auditors.map(async (address) => ({ address, state: await am.auditorState(job.jobId, address, bt) })));
    const missing = auditorsOutstanding(states, disputes);
    if (missing.length > 0) return { ready: false, why: `assigned auditors neither attested nor disputed: ${missing.join(", ")}` };
    const live = await liveCommitments(p.contracts, job.submittedBlock, facts);
    if (live > 0) return { ready: false, why: `${live} challenge commitment(s) not yet used` };
    if (holding.length > 0) return { ready: false, why: `dispute(s) ${holding.map((d) => d.id).join(", ")} just opened` };
    if (!floorOver) return { ready: false, why: `submitted less than ${Math.round(floorMs / 1000)} s ago (independent verifiers' audits)` };
    return { ready: true, why: `${auditors.length} assigned auditors attested or disputed, ${open.length} dispute(s) open` };
  };
}

/** Challenge commitments mined after `submittedBlock`, neither used nor expired at the tick's block. */
async function liveCommitments(c: UPowContracts, submittedBlock: bigint, facts: TickFacts): Promise<number> {
  const dm = c.disputeManager;
  const bt = { blockTag: facts.head.number };
  const ttl = BigInt((await dm.params(bt)).commitTTL);
  const events = await dm.queryFilter(dm.filters.ChallengeCommitted(), Number(submittedBlock) + 1, facts.head.number);
  let live = 0;
  for (const e of events) {
    const k = await dm.getCommitment(e.args.commitment, bt);
    if (k.challenger !== "0x0000000000000000000000000000000000000000" && k.bond > 0n && k.committedAt + ttl >= facts.head.timestamp) live++;
  }
  return live;
}
