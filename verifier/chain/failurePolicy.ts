/**
 * What a failed intent means, from the revert's error name alone (pure table). Read from the
 * contracts' errors:
 * - `superseded`: someone else already did it, its window closed, or the state moved on; held
 *   back on a doubling schedule (logged once at info, never a fault): WrongPhase/WrongStatus can
 *   also mean "not yet" while the daemon's view trails the head (failures.ts).
 * - `early`: its time has not come (a window still open, randomness not mined yet); retried on
 *   the next poll without counting as a failure.
 * - `fault`: anything else (no funds or stake, a bad proof, an RPC or node problem): retried with
 *   exponential back-off, escalated to an error log and /healthz after repeated failures.
 */
export type FailureClass = "superseded" | "early" | "fault";

const SUPERSEDED: readonly string[] = [
  // done by someone else
  "DisputeManagerAlreadyDisputing",
  "DisputeManagerAlreadyCommitted",
  "DisputeManagerCommitmentExists",
  "DisputeManagerStepAlreadyJudged",
  "DisputeManagerCanaryTruthKnown",
  "DisputeManagerMaxAppealsReached",
  "AuditManagerAlreadyDrawn",
  "AuditManagerCanaryAlreadyRevealed",
  "DataAvailabilityAlreadyKnown",
  "PrevrandaoRandomnessAlreadyRevealed",
  "VrfRandomnessAlreadyFulfilled",
  "VrfRandomnessAlreadyRequested",
  "CanaryRegistryRootExists",
  // nothing (left) to withdraw: an earlier withdrawal took it
  "DisputeManagerNothingToWithdraw",
  "AuditManagerNothingToWithdraw",
  "JobMarketNothingToWithdraw",
  "DataAvailabilityNothingToWithdraw",
  "StakeManagerNothingToWithdraw",
  // the window closed
  "DisputeManagerDeadlinePassed",
  "DisputeManagerCommitmentExpired",
  "AuditManagerWindowClosed",
  "AuditManagerRevealPeriodOver",
  "DataAvailabilityDeadlinePassed",
  "JobMarketClaimDeadlinePassed",
  "JobMarketSubmitDeadlinePassed",
  "BlockhashRandomnessExpired",
  "PrevrandaoRandomnessHashUnavailable",
  // the state machine moved past the step
  "DisputeManagerWrongPhase",
  "DisputeManagerJobNotActive",
  "DisputeManagerJobNotDisputable",
  "JobMarketWrongStatus",
  "AuditManagerWrongStatus",
  "DataAvailabilityWrongStatus",
  "DataAvailabilityJobNotActive",
  "JobMarketNoOpenDispute",
];

const EARLY: readonly string[] = [
  "DisputeManagerDeadlineNotPassed",
  "DisputeManagerRandomnessNotReady",
  "DisputeManagerVotingNotOver",
  "DisputeManagerRevealNotOpen",
  "DisputeManagerCommitmentTooRecent",
  "DisputeManagerCommitmentNotExpired",
  "DisputeManagerChallengesOpen",
  "DisputeManagerJobStillActive",
  "AuditManagerWindowOpen",
  "AuditManagerDrawNotReady",
  "AuditManagerCanaryPending",
  "AuditManagerNotSettled",
  "JobMarketWindowOpen",
  "JobMarketDisputesOpen",
  "JobMarketChallengesOpen",
  "JobMarketReopenPending",
  "JobMarketSubmitDeadlineNotPassed",
  "DataAvailabilityDeadlineNotPassed",
  "DataAvailabilityJobNotOver",
  "BlockhashRandomnessNotMined",
  "PrevrandaoRandomnessNotMined",
  "PrevrandaoRandomnessNotRevealed",
  "VrfRandomnessTooEarly",
  "VrfRandomnessNotFulfilled",
  "StakeManagerUnbondingNotOver",
  "StakeManagerQueueBacklog",
];

/** Error name → class, for every name the table lists (tests check each is a real project error). */
export const FAILURE_TABLE: ReadonlyMap<string, FailureClass> = new Map<string, FailureClass>([
  ...SUPERSEDED.map((n) => [n, "superseded"] as const),
  ...EARLY.map((n) => [n, "early"] as const),
]);

/** The class of a failure whose revert (if any) had this error name. */
export function classifyFailure(errorName: string | undefined): FailureClass {
  return (errorName !== undefined ? FAILURE_TABLE.get(errorName) : undefined) ?? "fault";
}
