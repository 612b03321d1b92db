/**
 * The contracts' enums, in one place: numeric values as the ABI encodes them, and their names for
 * logs and `upow status`. Declared in the order of the Solidity declarations (the value is the
 * index); test/verifier/protocol/enums.test.ts compares them with the enums of the compiled contracts
 * (solc AST in artifacts/build-info) and fails when they drift apart. Import these; never copy values.
 */

/** IJobMarket.JobStatus */
export const JobStatus = { None: 0, Open: 1, Claimed: 2, Submitted: 3, Finalized: 4, Rejected: 5, Cancelled: 6 } as const;
/** IDisputeManager.Phase */
export const Phase = { None: 0, Pinpointing: 1, AwaitingDraw: 2, Voting: 3, Ruled: 4, Closed: 5 } as const;
/** IDisputeManager.Ruling (1..3 are also juror votes) */
export const Ruling = {
  None: 0,
  WorkerFault: 1,
  WorkerHonest: 2,
  Indeterminate: 3,
  Void: 4,
  ChallengerTimedOut: 5,
  Unresolved: 6,
  Moot: 7,
} as const;
/** IAuditManager.AuditorState */
export const AuditorState = { None: 0, Assigned: 1, Attested: 2, Released: 3, Slashed: 4 } as const;
/** IDataAvailability.Status */
export const ChallengeStatus = { None: 0, Open: 1, Answered: 2, TimedOut: 3, Settled: 4 } as const;
/** IDataAvailability.Kind */
export const ChallengeKind = { None: 0, Checkpoints: 1, StepLeaves: 2, StateChunk: 3, BatchChunk: 4 } as const;

/** Every enum above, keyed `<Solidity type>.<enum>` as the test finds them in contracts/. */
export const ENUMS = {
  "IJobMarket.JobStatus": JobStatus,
  "IDisputeManager.Phase": Phase,
  "IDisputeManager.Ruling": Ruling,
  "IAuditManager.AuditorState": AuditorState,
  "IDataAvailability.Status": ChallengeStatus,
  "IDataAvailability.Kind": ChallengeKind,
} as const;

export type EnumTable = Readonly<Record<string, number>>;

/**
 * The name of `value` in `table`; an unknown value (a newer contract) reads `Unknown(<n>)` rather
 * than throwing, so a log line or a status report is never lost to it.
 */
export function enumName(table: EnumTable, value: number | bigint): string {
  const n = Number(value);
  for (const [name, v] of Object.entries(table)) if (v === n) return name;
  return `Unknown(${String(value)})`;
}

export const jobStatusName = (v: number | bigint): string => enumName(JobStatus, v);
export const phaseName = (v: number | bigint): string => enumName(Phase, v);
export const rulingName = (v: number | bigint): string => enumName(Ruling, v);
export const challengeStatusName = (v: number | bigint): string => enumName(ChallengeStatus, v);
