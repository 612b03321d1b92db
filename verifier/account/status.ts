/**
 * `readAccountStatus`: what one account has on a uPoW deployment, read at one block — its jobs
 * (as requester, worker or auditor, with status names), the open disputes it is a party of (role,
 * phase, deadlines), its stake, and every credit ledger. Event scans are chunked from the
 * deployment block; every value is read at the same block so the report is one consistent view.
 */
import { getAddress, id, zeroPadValue, type Provider } from "ethers";
import type { Deployment, UPowContracts } from "../chain/registry";
import { deploymentStartBlock } from "../chain/registry";
import { formatAmount, formatDeadline } from "../chain/format";
import { TokenInfoCache } from "../chain/tokenInfo";
import { Phase, jobStatusName, phaseName, rulingName } from "../protocol/enums";
import { creditTokens, readCredits, type Ledger } from "./ledgers";
import { scanLogs } from "./scan";
import { UPowError } from "../errors";

class AccountReadError extends UPowError {
  override readonly name = "AccountReadError";
}

export interface Amount {
  /** Base units, exact. */
  raw: bigint;
  /** "100 UPAY". */
  text: string;
  token: string;
}

export type JobRole = "requester" | "worker" | "former-worker" | "auditor";
export type DisputeRole = "challenger" | "worker" | "requester" | "juror";

export interface JobEntry {
  jobId: bigint;
  roles: JobRole[];
  status: string;
  reward: Amount;
  collateral: Amount;
  openDisputes: number;
}

export interface Deadline {
  what: string;
  /** Unix seconds. */
  at: number;
  /** Local time and relative: "2026-12-02 06:03:09 (in 3 min)". */
  text: string;
}

export interface DisputeEntry {
  disputeId: bigint;
  jobId: bigint;
  interval: number;
  roles: DisputeRole[];
  phase: string;
  ruling: string;
  round: number;
  deadlines: Deadline[];
  /** AwaitingDraw: the block whose randomness draws the committee (0: waits for the next epoch). */
  drawBlock?: number;
  bond: Amount;
}

export interface StakeEntry {
  free: Amount;
  locked: Amount;
  unbonding: Amount;
  /** Unix seconds at which the unbonding stake can be withdrawn; 0 when none. */
  unbondingReleaseAt: number;
  jurorReserve: Amount;
  jurorSeatLocked: Amount;
  pendingJoin: Amount;
  pendingLeave: Amount;
  /** Epoch at which the pending reserve change applies; 0 when none. */
  pendingEpoch: number;
}

export interface CreditEntry {
  ledger: Ledger;
  amount: Amount;
}

export interface AccountStatus {
  account: string;
  chainId: number;
  network: string;
  block: number;
  /** Timestamp of `block` (the "now" of every relative time). */
  timestamp: number;
  jobs: JobEntry[];
  /** Disputes not Closed that the account is a party of. */
  disputes: DisputeEntry[];
  stake: StakeEntry;
  /** Every ledger checked, zeros included. */
  credits: CreditEntry[];
}

export interface ReadAccountStatusParameters {
  provider: Provider;
  deployment: Deployment;
  contracts: UPowContracts;
  account: string;
  /** Blocks per getLogs request. @default 5_000 */
  chunkSize?: number;
  /** @default a new cache on `provider` */
  tokens?: TokenInfoCache;
}

const topicOf = (a: string): string => zeroPadValue(a, 32);
const JOB_CREATED = id("JobCreated(uint256,address,address,uint256,uint256,uint256,bytes32,string)");
const JOB_CLAIMED = id("JobClaimed(uint256,address,uint64)");

export async function readAccountStatus(p: ReadAccountStatusParameters): Promise<AccountStatus> {
  const account = getAddress(p.account);
  const { contracts: c, provider } = p;
  const tokens = p.tokens ?? new TokenInfoCache(provider);
  const head = await provider.getBlock("latest");
  if (head === null) throw new AccountReadError("the node returned no latest block");
  const block = head.number;
  const at = { blockTag: block };
  const scan = { provider, fromBlock: deploymentStartBlock(p.deployment), toBlock: block, chunkSize: p.chunkSize };
  const amount = async (token: string, raw: bigint): Promise<Amount> => ({ raw, token, text: formatAmount(raw, await tokens.info(token)) });

  // Jobs: created by the account, claimed by it, or drawn for its audit.
  const jm = await c.jobMarket.getAddress();
  const roles = new Map<bigint, Set<JobRole>>();
  const addRole = (jobId: bigint, r: JobRole): void => {
    roles.set(jobId, (roles.get(jobId) ?? new Set<JobRole>()).add(r));
  };
  for (const l of await scanLogs({ ...scan, address: jm, topics: [JOB_CREATED, null, topicOf(account)] }))
    addRole(BigInt(l.topics[1]), "requester");
  for (const l of await scanLogs({ ...scan, address: jm, topics: [JOB_CLAIMED, null, topicOf(account)] }))
    addRole(BigInt(l.topics[1]), "worker");
  const am = c.auditManager.interface;
  for (const l of await scanLogs({
    ...scan,
    address: await c.auditManager.getAddress(),
    topics: [am.getEvent("AuditorsAssigned").topicHash],
  })) {
    const ev = am.parseLog(l);
    if (ev !== null && (ev.args[2] as string[]).some((a) => getAddress(a) === account)) addRole(BigInt(ev.args[0] as bigint), "auditor");
  }
  const jobs: JobEntry[] = [];
  const jobInfo = new Map<bigint, { requester: string; worker: string }>();
  for (const [jobId, r] of [...roles].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const j = await c.jobMarket.getJob(jobId, at);
    // A claim that expired leaves JobClaimed behind though the account is no longer the worker.
    const rs = [...r].map((x): JobRole => (x === "worker" && getAddress(j.worker) !== account ? "former-worker" : x));
    jobInfo.set(jobId, { requester: getAddress(j.requester), worker: getAddress(j.worker) });
    jobs.push({
      jobId,
      roles: rs,
      status: jobStatusName(j.status),
      reward: await amount(j.paymentToken, j.reward),
      collateral: await amount(await c.stakingToken.getAddress(), j.collateral),
      openDisputes: Number(j.openDisputes),
    });
  }

  // Disputes: opened by the account, against or about its jobs, or with it on a committee.
  const dmi = c.disputeManager.interface;
  const dm = await c.disputeManager.getAddress();
  const dRoles = new Map<bigint, Set<DisputeRole>>();
  const addDRole = (d: bigint, r: DisputeRole): void => {
    dRoles.set(d, (dRoles.get(d) ?? new Set<DisputeRole>()).add(r));
  };
  for (const l of await scanLogs({ ...scan, address: dm, topics: [dmi.getEvent("DisputeOpened").topicHash] })) {
    const disputeId = BigInt(l.topics[1]);
    const jobId = BigInt(l.topics[2]);
    if (getAddress(`0x${l.topics[3].slice(26)}`) === account) addDRole(disputeId, "challenger");
    // Only the account's own jobs can make it the worker or requester of a dispute.
    const info = jobInfo.get(jobId);
    if (info?.worker === account) addDRole(disputeId, "worker");
    if (info?.requester === account) addDRole(disputeId, "requester");
  }
  for (const l of await scanLogs({ ...scan, address: dm, topics: [dmi.getEvent("CommitteeDrawn").topicHash] })) {
    const ev = dmi.parseLog(l);
    if (ev !== null && (ev.args[2] as string[]).some((a) => getAddress(a) === account)) addDRole(BigInt(ev.args[0] as bigint), "juror");
  }
  const staking = await c.stakingToken.getAddress();
  const disputes: DisputeEntry[] = [];
  for (const [disputeId, r] of [...dRoles].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const d = await c.disputeManager.getDispute(disputeId, at);
    const phase = Number(d.phase);
    if (phase === Phase.Closed || phase === Phase.None) continue;
    disputes.push({
      disputeId,
      jobId: d.jobId,
      interval: Number(d.interval),
      roles: [...r],
      phase: phaseName(phase),
      ruling: rulingName(d.ruling),
      round: Number(d.round),
      deadlines: disputeDeadlines(phase, await effectiveWindows(c, disputeId, phase, d, block), head.timestamp),
      ...(phase === Phase.AwaitingDraw ? { drawBlock: Number(d.randomnessBlock) } : {}),
      bond: await amount(staking, d.bond),
    });
  }

  const a = await c.stakeManager.account(account, at);
  const stake: StakeEntry = {
    free: await amount(staking, a.free),
    locked: await amount(staking, a.locked),
    unbonding: await amount(staking, a.unbonding),
    unbondingReleaseAt: Number(a.unbondingReleaseAt),
    jurorReserve: await amount(staking, a.reserve),
    jurorSeatLocked: await amount(staking, a.seatLocked),
    pendingJoin: await amount(staking, a.pendingJoin),
    pendingLeave: await amount(staking, a.pendingLeave),
    pendingEpoch: Number(a.pendingEpoch),
  };

  const creditList = await readCredits({
    contracts: c,
    account,
    blockTag: block,
    tokens: await creditTokens({ provider, deployment: p.deployment, contracts: c, account, toBlock: block, chunkSize: p.chunkSize }),
  });
  const credits: CreditEntry[] = [];
  for (const x of creditList) credits.push({ ledger: x.ledger, amount: await amount(x.token, x.raw) });

  return {
    account,
    chainId: p.deployment.chainId,
    network: p.deployment.network,
    block,
    timestamp: head.timestamp,
    jobs,
    disputes,
    stake,
    credits,
  };
}

/**
 * The deadlines as the contract applies them: answered availability challenges extend the stored
 * pinpoint deadline and voting windows, and `pinpointDeadline`/`votingWindows` include that.
 */
async function effectiveWindows(
  c: UPowContracts,
  disputeId: bigint,
  phase: number,
  d: { deadline: bigint; commitEnd: bigint; revealEnd: bigint; appealEnd: bigint },
  block: number,
): Promise<{ deadline: bigint; commitEnd: bigint; revealEnd: bigint; appealEnd: bigint }> {
  const at = { blockTag: block };
  if (phase === Phase.Pinpointing) return { ...d, deadline: await c.disputeManager.pinpointDeadline(disputeId, at) };
  if (phase === Phase.Voting) {
    const [commitEnd, revealEnd] = await c.disputeManager.votingWindows(disputeId, at);
    return { ...d, commitEnd, revealEnd };
  }
  return d;
}

/** The deadlines that matter in `phase`. */
function disputeDeadlines(
  phase: number,
  d: { deadline: bigint; commitEnd: bigint; revealEnd: bigint; appealEnd: bigint },
  now: number,
): Deadline[] {
  const dl = (what: string, at: bigint): Deadline => ({ what, at: Number(at), text: formatDeadline(Number(at), now) });
  switch (phase) {
    case Phase.Pinpointing:
      return [dl("pinpoint by", d.deadline)];
    case Phase.Voting:
      return [dl("commit votes by", d.commitEnd), dl("reveal votes by", d.revealEnd)];
    case Phase.Ruled:
      return [dl("appeal by", d.appealEnd)];
    default:
      return [];
  }
}
