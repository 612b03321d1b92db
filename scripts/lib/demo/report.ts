/** Balance snapshots, the before/after table, and gas per phase (summed over the blocks of the phase). */
import type { Provider } from "ethers";
import { formatUnits } from "ethers";
import type { UPowContracts } from "../../../verifier/chain/registry";

export interface Party {
  label: string;
  address: string;
}

export interface Holdings {
  stakeToken: bigint;
  payToken: bigint;
  /** free + locked + unbonding in the StakeManager. */
  staked: bigint;
  /** Withdrawable payment-token credits left in JobMarket and AuditManager. */
  payCredits: bigint;
  /** Withdrawable staking-token credits left in the DisputeManager. */
  stakeCredits: bigint;
}

export async function snapshot(c: UPowContracts, payToken: string, parties: readonly Party[]): Promise<Map<string, Holdings>> {
  const out = new Map<string, Holdings>();
  for (const p of parties) {
    const [st, pt, acct, jmCredit, amCredit, dmCredit] = await Promise.all([
      c.stakingToken.balanceOf(p.address),
      c.paymentToken ? c.paymentToken.balanceOf(p.address) : Promise.resolve(0n),
      c.stakeManager.account(p.address),
      c.jobMarket.credits(payToken, p.address),
      c.auditManager.credits(payToken, p.address),
      c.disputeManager.credits(p.address),
    ]);
    out.set(p.address, {
      stakeToken: st,
      payToken: pt,
      staked: acct.free + acct.locked + acct.unbonding + acct.reserve + acct.pendingJoin,
      payCredits: jmCredit + amCredit,
      stakeCredits: dmCredit,
    });
  }
  return out;
}

export const fmt = (v: bigint): string => {
  const s = formatUnits(v, 18);
  return s.endsWith(".0") ? s.slice(0, -2) : s.replace(/(\.\d{0,4})\d*$/, "$1");
};
const delta = (a: bigint, b: bigint): string => (b === a ? "" : `${b > a ? "+" : ""}${fmt(b - a)}`);

export function balanceTable(parties: readonly Party[], before: Map<string, Holdings>, after: Map<string, Holdings>): string {
  const rows: string[][] = [["account", "STK wallet", "Δ", "staked", "Δ", "PAY wallet", "Δ", "unclaimed STK", "unclaimed PAY"]];
  for (const p of parties) {
    const a = before.get(p.address)!;
    const b = after.get(p.address)!;
    rows.push([
      p.label,
      fmt(b.stakeToken),
      delta(a.stakeToken, b.stakeToken),
      fmt(b.staked),
      delta(a.staked, b.staked),
      fmt(b.payToken),
      delta(a.payToken, b.payToken),
      fmt(b.stakeCredits),
      fmt(b.payCredits),
    ]);
  }
  return table(rows);
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/** Gas used by every transaction mined in blocks (from, to]. */
export async function gasInBlocks(provider: Provider, from: number, to: number): Promise<{ gas: bigint; txs: number }> {
  let gas = 0n;
  let txs = 0;
  for (let n = from + 1; n <= to; n++) {
    const b = await provider.getBlock(n);
    if (b === null) continue;
    gas += b.gasUsed;
    txs += b.transactions.length;
  }
  return { gas, txs };
}
