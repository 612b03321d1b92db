/** `upow status` as text: one section per kind, amounts with units, names not numbers. */
import { formatDeadline } from "../chain/format";
import type { AccountStatus } from "./status";

export function renderAccountStatus(s: AccountStatus): string {
  const lines: string[] = [`account ${s.account} on ${s.network} (chain ${s.chainId}) at block ${s.block}`];
  lines.push("", `jobs (${s.jobs.length}):`);
  if (s.jobs.length === 0) lines.push("  none");
  for (const j of s.jobs) {
    const disp = j.openDisputes > 0 ? `, ${j.openDisputes} open dispute(s)` : "";
    lines.push(
      `  #${j.jobId}  ${j.status.padEnd(9)}  as ${j.roles.join("+")}  reward ${j.reward.text}, collateral ${j.collateral.text}${disp}`,
    );
  }
  lines.push("", `open disputes (${s.disputes.length}):`);
  if (s.disputes.length === 0) lines.push("  none");
  for (const d of s.disputes) {
    const ruling = d.ruling === "None" ? "" : `, ruling ${d.ruling}`;
    lines.push(
      `  #${d.disputeId}  job #${d.jobId} interval ${d.interval}  ${d.phase} (round ${d.round}${ruling})  as ${d.roles.join("+")}  bond ${d.bond.text}`,
    );
    for (const x of d.deadlines) lines.push(`      ${x.what} ${x.text}`);
    if (d.drawBlock !== undefined)
      lines.push(`      committee drawn ${d.drawBlock === 0 ? "in the next epoch" : `from block ${d.drawBlock}`}`);
  }
  const st = s.stake;
  lines.push("", "stake:");
  lines.push(`  free ${st.free.text}, locked ${st.locked.text}`);
  const release = st.unbonding.raw > 0n ? ` (withdrawable ${formatDeadline(st.unbondingReleaseAt, s.timestamp)})` : "";
  lines.push(`  unbonding ${st.unbonding.text}${release}`);
  lines.push(`  juror reserve ${st.jurorReserve.text} (${st.jurorSeatLocked.text} locked by seats)`);
  if (st.pendingJoin.raw > 0n || st.pendingLeave.raw > 0n) {
    lines.push(`  pending (epoch ${st.pendingEpoch}): join ${st.pendingJoin.text}, leave ${st.pendingLeave.text}`);
  }
  const owed = s.credits.filter((c) => c.amount.raw > 0n);
  lines.push("", "credits (withdraw with `upow withdraw`):");
  if (owed.length === 0) lines.push("  none");
  for (const c of owed) lines.push(`  ${c.ledger.padEnd(17)} ${c.amount.text}`);
  return lines.join("\n");
}
