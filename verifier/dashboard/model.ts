/**
 * The dashboard's view model, folded from decoded chain events and a few reads (pure: no I/O, so
 * test/verifier/dashboard/model.test.ts checks it with plain event sequences). Events give the
 * timelines, rounds, votes and locks; the reads the indexer adds (job status, dispute phase and
 * deadlines as stored) win over what the events imply, since a contract may move a state without
 * an event this fold knows about.
 */
import { formatAmount, type TokenInfo } from "../chain/format";
import { Phase, JobStatus, Ruling, phaseName, rulingName, jobStatusName } from "../protocol/enums";

export type ContractName = "JobMarket" | "AuditManager" | "DisputeManager" | "StakeManager" | "DataAvailability";

/** Event argument after decoding: bigints as decimal strings, addresses checksummed. */
export type EventArg = string | number | boolean | EventArg[];

export interface ChainEvent {
  contract: ContractName;
  name: string;
  block: number;
  logIndex: number;
  /** Block timestamp, Unix seconds. */
  time: number;
  tx: string;
  args: Readonly<Record<string, EventArg>>;
}

export interface TimelineEntry {
  /** created, claimed, claim-expired, submitted, auditors-drawn, attested, audited, disputed, finalized, rejected, cancelled. */
  stage: string;
  block: number;
  time: number;
  detail?: string;
}

export interface CheckpointEval {
  step: number;
  loss: number;
  accuracy: number;
}

/** What the dashboard learned from a job's result index (fetched and hash-checked by the indexer). */
export type ResultView =
  | { state: "pending" }
  | { state: "error"; error: string }
  | { state: "ok"; T: number; k: number; checkpoints: CheckpointEval[]; testAccuracy: number; testCount: number };

export interface AuditorView {
  address: string;
  state: "assigned" | "attested" | "released" | "slashed" | "missed";
}

export interface JobView {
  id: string;
  status: string;
  requester: string;
  worker: string | null;
  reward: string;
  verificationFee: string;
  specURI: string;
  resultURI: string | null;
  totalSteps: number | null;
  timeline: TimelineEntry[];
  auditors: AuditorView[];
  disputes: string[];
  result: ResultView | null;
}

export interface VoteView {
  juror: string;
  committed: boolean;
  revealed: boolean;
  /** Ruling name of the revealed vote. */
  vote: string | null;
}

export interface RoundView {
  round: number;
  quorum: number;
  commitEnd: number;
  revealEnd: number;
  votes: VoteView[];
  /** Ruling name once the round ruled; "failed" when it missed quorum; null while open. */
  outcome: string | null;
}

export interface DeadlineView {
  what: string;
  at: number;
}

export interface DisputeView {
  id: string;
  jobId: string;
  interval: number;
  challenger: string;
  bond: string;
  phase: string;
  ruling: string;
  step: number | null;
  timeline: TimelineEntry[];
  rounds: RoundView[];
  deadlines: DeadlineView[];
}

export interface LockView {
  lockId: string;
  label: string;
  amount: string;
}

export interface AmountView {
  text: string;
  raw: string;
}

export interface AccountView {
  address: string;
  roles: string[];
  free: AmountView | null;
  locked: AmountView | null;
  unbonding: AmountView | null;
  jurorReserve: AmountView | null;
  locks: LockView[];
  credits: { ledger: string; amount: AmountView }[];
}

export interface DaemonView {
  url: string;
  up: boolean;
  /** /healthz said ok (null when it did not answer). */
  healthy: boolean | null;
  role: string | null;
  version: string | null;
  headBlock: number | null;
  headAgeSeconds: number | null;
  /** Counter totals by metric name (label sets summed), e.g. upow_jobs_finalized_total. */
  counters: Record<string, number>;
  error: string | null;
  scrapedAt: number;
}

export interface DashboardView {
  network: string;
  chainId: number;
  head: { block: number; time: number };
  /** Wall clock of the last update, Unix ms. */
  updatedAt: number;
  jobs: JobView[];
  disputes: DisputeView[];
  accounts: AccountView[];
  daemons: DaemonView[];
}

/** Reads the indexer adds on top of the events. */
export interface ChainReads {
  jobs: ReadonlyMap<string, { status: number }>;
  disputes: ReadonlyMap<string, DisputeRead>;
  accounts: ReadonlyMap<string, Omit<AccountView, "address" | "roles" | "locks">>;
  /** Symbol and decimals by token address; an amount of a token missing here shows its base units. */
  tokens: ReadonlyMap<string, TokenInfo>;
  /** Labels of lock ids ("job 1 collateral"). */
  lockLabels: ReadonlyMap<string, string>;
  results: ReadonlyMap<string, ResultView>;
}

export interface DisputeRead {
  phase: number;
  ruling: number;
  round: number;
  /** Effective windows as the contract applies them (answered availability challenges included). */
  pinpointDeadline: number;
  commitEnd: number;
  revealEnd: number;
  appealEnd: number;
  randomnessBlock: number;
}

export const EMPTY_READS: ChainReads = {
  jobs: new Map(),
  disputes: new Map(),
  accounts: new Map(),
  tokens: new Map(),
  lockLabels: new Map(),
  results: new Map(),
};

const str = (v: EventArg | undefined): string => (v === undefined ? "" : Array.isArray(v) ? v.map(str).join(",") : String(v));
const num = (v: EventArg | undefined): number => Number(str(v));
const list = (v: EventArg | undefined): string[] => (Array.isArray(v) ? v.map(str) : []);

/** Events in chain order. */
function ordered(events: readonly ChainEvent[]): ChainEvent[] {
  return [...events].sort((a, b) => a.block - b.block || a.logIndex - b.logIndex);
}

function amountText(reads: ChainReads, token: string, raw: string): string {
  const info = reads.tokens.get(token);
  return info === undefined ? raw : formatAmount(BigInt(raw), info);
}

export function buildJobs(events: readonly ChainEvent[], reads: ChainReads = EMPTY_READS): JobView[] {
  const jobs = new Map<string, JobView & { eventStatus: number }>();
  const entry = (e: ChainEvent, stage: string, detail?: string): TimelineEntry => ({
    stage,
    block: e.block,
    time: e.time,
    ...(detail ? { detail } : {}),
  });
  for (const e of ordered(events)) {
    const id = str(e.args.jobId);
    if (e.contract === "JobMarket" && e.name === "JobCreated") {
      const token = str(e.args.paymentToken);
      jobs.set(id, {
        id,
        status: "",
        eventStatus: JobStatus.Open,
        requester: str(e.args.requester),
        worker: null,
        reward: amountText(reads, token, str(e.args.reward)),
        verificationFee: amountText(reads, token, str(e.args.verificationFee)),
        specURI: str(e.args.specURI),
        resultURI: null,
        totalSteps: null,
        timeline: [entry(e, "created")],
        auditors: [],
        disputes: [],
        result: null,
      });
      continue;
    }
    const j = jobs.get(id);
    if (j === undefined) continue;
    const auditor = (address: string): AuditorView => {
      let a = j.auditors.find((x) => x.address === address);
      if (a === undefined) j.auditors.push((a = { address, state: "assigned" }));
      return a;
    };
    switch (`${e.contract}.${e.name}`) {
      case "JobMarket.JobClaimed":
        j.worker = str(e.args.worker);
        j.eventStatus = JobStatus.Claimed;
        j.timeline.push(entry(e, "claimed", `by ${short(j.worker)}`));
        break;
      case "JobMarket.ClaimExpired":
        j.worker = null;
        j.eventStatus = JobStatus.Open;
        j.timeline.push(entry(e, "claim-expired"));
        break;
      case "JobMarket.ResultSubmitted":
        j.resultURI = str(e.args.resultURI);
        j.eventStatus = JobStatus.Submitted;
        j.timeline.push(entry(e, "submitted"));
        break;
      case "JobMarket.JobFinalized":
        j.eventStatus = JobStatus.Finalized;
        j.timeline.push(entry(e, "finalized"));
        break;
      case "JobMarket.JobRejected":
        j.eventStatus = JobStatus.Rejected;
        j.timeline.push(entry(e, "rejected"));
        break;
      case "JobMarket.JobCancelled":
        j.eventStatus = JobStatus.Cancelled;
        j.timeline.push(entry(e, "cancelled"));
        break;
      case "JobMarket.JobDisputeOpened":
        j.timeline.push(entry(e, "disputed", `${num(e.args.openDisputes)} open`));
        break;
      case "AuditManager.AuditorsAssigned":
        for (const a of list(e.args.auditors)) auditor(a);
        j.timeline.push(entry(e, "auditors-drawn", `${new Set(list(e.args.auditors)).size} auditors`));
        break;
      case "AuditManager.Attested":
        auditor(str(e.args.auditor)).state = "attested";
        j.timeline.push(entry(e, "attested", `by ${short(str(e.args.auditor))}`));
        break;
      case "AuditManager.AuditSettled":
        j.timeline.push(entry(e, "audited", `${num(e.args.attesters)} attested`));
        break;
      case "AuditManager.AttesterReleased":
        auditor(str(e.args.auditor)).state = "released";
        break;
      case "AuditManager.AttesterSlashed":
        auditor(str(e.args.auditor)).state = "slashed";
        break;
      case "AuditManager.AttesterMissed":
        auditor(str(e.args.auditor)).state = "missed";
        break;
      case "DisputeManager.DisputeOpened":
        j.disputes.push(str(e.args.disputeId));
        break;
    }
  }
  return [...jobs.values()]
    .map(({ eventStatus, ...j }) => ({
      ...j,
      status: jobStatusName(reads.jobs.get(j.id)?.status ?? eventStatus),
      result: j.resultURI === null ? null : (reads.results.get(j.id) ?? { state: "pending" as const }),
    }))
    .sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)));
}

export function buildDisputes(events: readonly ChainEvent[], reads: ChainReads = EMPTY_READS, stakingToken = ""): DisputeView[] {
  const disputes = new Map<string, DisputeView & { phaseNum: number; rulingNum: number }>();
  const entry = (e: ChainEvent, stage: string, detail?: string): TimelineEntry => ({
    stage,
    block: e.block,
    time: e.time,
    ...(detail ? { detail } : {}),
  });
  for (const e of ordered(events)) {
    if (e.contract !== "DisputeManager") continue;
    const id = str(e.args.disputeId);
    if (e.name === "DisputeOpened") {
      disputes.set(id, {
        id,
        jobId: str(e.args.jobId),
        interval: num(e.args.interval),
        challenger: str(e.args.challenger),
        bond: amountText(reads, stakingToken, str(e.args.bond)),
        phase: "",
        ruling: "",
        phaseNum: Phase.Pinpointing,
        rulingNum: Ruling.None,
        step: null,
        timeline: [entry(e, "Pinpointing", `interval ${num(e.args.interval)} challenged by ${short(str(e.args.challenger))}`)],
        rounds: [],
        deadlines: [{ what: "pinpoint by", at: num(e.args.pinpointDeadline) }],
      });
      continue;
    }
    const d = disputes.get(id);
    if (d === undefined) continue;
    const round = (r: number): RoundView => {
      let x = d.rounds.find((y) => y.round === r);
      if (x === undefined) d.rounds.push((x = { round: r, quorum: 0, commitEnd: 0, revealEnd: 0, votes: [], outcome: null }));
      return x;
    };
    const voteOf = (r: number, juror: string): VoteView => {
      const rv = round(r);
      let v = rv.votes.find((x) => x.juror === juror);
      if (v === undefined) rv.votes.push((v = { juror, committed: false, revealed: false, vote: null }));
      return v;
    };
    switch (e.name) {
      case "StepPinpointed":
        d.step = num(e.args.globalStep);
        d.phaseNum = Phase.AwaitingDraw;
        d.timeline.push(entry(e, "AwaitingDraw", `step ${d.step} pinpointed`));
        break;
      case "PinpointReopened":
        d.phaseNum = Phase.Pinpointing;
        d.timeline.push(entry(e, "Pinpointing", `pinpoint ${num(e.args.pinpoints) + 1} reopened`));
        break;
      case "CommitteeDrawn": {
        const r = round(num(e.args.round));
        r.quorum = num(e.args.quorum);
        r.commitEnd = num(e.args.commitEnd);
        r.revealEnd = num(e.args.revealEnd);
        for (const j of new Set(list(e.args.jurors))) voteOf(r.round, j);
        d.phaseNum = Phase.Voting;
        d.timeline.push(entry(e, "Voting", `round ${r.round}: ${new Set(list(e.args.jurors)).size} jurors, quorum ${r.quorum}`));
        break;
      }
      case "VoteCommitted":
        voteOf(num(e.args.round), str(e.args.juror)).committed = true;
        break;
      case "VoteRevealed": {
        const v = voteOf(num(e.args.round), str(e.args.juror));
        v.revealed = true;
        v.vote = rulingName(num(e.args.vote));
        break;
      }
      case "RoundFailed":
        round(num(e.args.round)).outcome = "failed";
        d.phaseNum = Phase.AwaitingDraw;
        d.timeline.push(entry(e, "RoundFailed", `round ${num(e.args.round)}: ${num(e.args.reveals)} of ${num(e.args.quorum)} reveals`));
        break;
      case "RulingGiven":
        d.rulingNum = num(e.args.ruling);
        round(num(e.args.round)).outcome = rulingName(d.rulingNum);
        d.phaseNum = Phase.Ruled;
        d.timeline.push(entry(e, "Ruled", rulingName(d.rulingNum)));
        break;
      case "Appealed":
        d.phaseNum = Phase.AwaitingDraw;
        d.timeline.push(entry(e, "Appealed", `by ${short(str(e.args.appellant))}`));
        break;
      case "WorkerConvicted":
        d.timeline.push(entry(e, "WorkerConvicted", `slashed ${amountText(reads, stakingToken, str(e.args.slashed))}`));
        break;
      case "BondForfeited":
        d.timeline.push(entry(e, "BondForfeited"));
        break;
      case "DisputeClosed":
        d.rulingNum = num(e.args.ruling);
        d.phaseNum = Phase.Closed;
        d.timeline.push(entry(e, "Closed", rulingName(d.rulingNum)));
        break;
    }
  }
  return [...disputes.values()]
    .map(({ phaseNum, rulingNum, ...d }) => {
      const r = reads.disputes.get(d.id);
      const phase = r?.phase ?? phaseNum;
      return {
        ...d,
        phase: phaseName(phase),
        ruling: rulingName(r?.ruling ?? rulingNum),
        deadlines: r ? deadlines(r) : phase === Phase.Pinpointing ? d.deadlines : [],
      };
    })
    .sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)));
}

/** The deadlines that matter in the dispute's phase (as `upow status` lists them). */
function deadlines(r: DisputeRead): DeadlineView[] {
  switch (r.phase) {
    case Phase.Pinpointing:
      return [{ what: "pinpoint by", at: r.pinpointDeadline }];
    case Phase.Voting:
      return [
        { what: "commit votes by", at: r.commitEnd },
        { what: "reveal votes by", at: r.revealEnd },
      ];
    case Phase.Ruled:
      return [{ what: "appeal by", at: r.appealEnd }];
    default:
      return [];
  }
}

/** Every account the events name, with its roles and its locks (lock id → amount still locked). */
export function buildAccounts(events: readonly ChainEvent[], reads: ChainReads = EMPTY_READS, stakingToken = ""): AccountView[] {
  const roles = new Map<string, Set<string>>();
  const locks = new Map<string, Map<string, bigint>>();
  const role = (a: string, r: string): void => void roles.set(a, (roles.get(a) ?? new Set()).add(r));
  const lock = (a: string, id: string, delta: bigint): void => {
    const m = locks.get(a) ?? new Map<string, bigint>();
    m.set(id, (m.get(id) ?? 0n) + delta);
    locks.set(a, m);
  };
  for (const e of ordered(events)) {
    const a = e.args;
    switch (`${e.contract}.${e.name}`) {
      case "JobMarket.JobCreated":
        role(str(a.requester), "requester");
        break;
      case "JobMarket.JobClaimed":
        role(str(a.worker), "worker");
        break;
      case "AuditManager.AuditorsAssigned":
        for (const x of list(a.auditors)) role(x, "auditor");
        break;
      case "DisputeManager.DisputeOpened":
        role(str(a.challenger), "challenger");
        break;
      case "DisputeManager.CommitteeDrawn":
        for (const x of list(a.jurors)) role(x, "juror");
        break;
      case "StakeManager.Staked":
        role(str(a.account), "staker");
        break;
      case "StakeManager.Locked":
        lock(str(a.account), str(a.lockId), BigInt(str(a.amount)));
        break;
      case "StakeManager.Unlocked":
      case "StakeManager.Slashed":
        lock(str(a.account), str(a.lockId), -BigInt(str(a.amount)));
        break;
    }
  }
  return [...roles.keys()].sort().map((address): AccountView => {
    const read = reads.accounts.get(address);
    const held = [...(locks.get(address) ?? new Map<string, bigint>())].filter(([, v]) => v > 0n);
    return {
      address,
      roles: [...(roles.get(address) ?? [])].sort(),
      free: read?.free ?? null,
      locked: read?.locked ?? null,
      unbonding: read?.unbonding ?? null,
      jurorReserve: read?.jurorReserve ?? null,
      locks: held.map(([lockId, v]) => ({
        lockId,
        label: reads.lockLabels.get(lockId) ?? `lock ${short(lockId)}`,
        amount: amountText(reads, stakingToken, v.toString()),
      })),
      credits: read?.credits ?? [],
    };
  });
}

/** Sum of each metric's samples, by name, from Prometheus text (comments and NaN skipped). */
export function parsePrometheus(text: string): { totals: Record<string, number>; labels: Record<string, Record<string, string>> } {
  const totals: Record<string, number> = {};
  const labels: Record<string, Record<string, string>> = {};
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const value = Number(m[4]);
    if (!Number.isFinite(value)) continue;
    totals[m[1]!] = (totals[m[1]!] ?? 0) + value;
    if (m[3] !== undefined && labels[m[1]!] === undefined) {
      const l: Record<string, string> = {};
      for (const p of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) l[p[1]!] = p[2]!;
      labels[m[1]!] = l;
    }
  }
  return { totals, labels };
}

/** A daemon's health panel from its /metrics text and /healthz answer. */
export function daemonView(
  url: string,
  scrapedAt: number,
  metrics: string | null,
  healthz: boolean | null,
  error: string | null,
): DaemonView {
  if (metrics === null) {
    return {
      url,
      up: false,
      healthy: healthz,
      role: null,
      version: null,
      headBlock: null,
      headAgeSeconds: null,
      counters: {},
      error,
      scrapedAt,
    };
  }
  const { totals, labels } = parsePrometheus(metrics);
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(totals)) if (k.startsWith("upow_") && k.endsWith("_total")) counters[k] = v;
  const anyLabels = Object.values(labels).find((l) => l.role !== undefined);
  return {
    url,
    up: true,
    healthy: healthz,
    role: anyLabels?.role ?? null,
    version: labels.upow_build_info?.version ?? null,
    headBlock: totals.upow_chain_head_block ?? null,
    headAgeSeconds: totals.upow_chain_head_age_seconds ?? null,
    counters,
    error,
    scrapedAt,
  };
}

function short(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}
