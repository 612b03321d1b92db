/**
 * Human-readable chain values for logs and `upow status`: token amounts with their symbol and
 * decimals, deadlines in local time with a relative "in 3 min". Pure; the token metadata comes
 * from `TokenInfoCache` (chain/tokenInfo.ts), read once per token.
 */
import { formatUnits } from "ethers";

export interface TokenInfo {
  readonly address: string;
  readonly symbol: string;
  readonly decimals: number;
}

/** `"100 UPAY"`, `"0.5 USTK"`; trailing zeros dropped, never rounded. */
export function formatAmount(raw: bigint, token: Pick<TokenInfo, "symbol" | "decimals">): string {
  const s = formatUnits(raw, token.decimals);
  return `${s.endsWith(".0") ? s.slice(0, -2) : s} ${token.symbol}`;
}

/**
 * Log fields for an amount: `{ [key]: "100 UPAY", [key + "Raw"]: "100000000000000000000" }`, so
 * a reader sees units and a script keeps the exact base units.
 */
export function amountFields(key: string, raw: bigint, token: Pick<TokenInfo, "symbol" | "decimals">): Record<string, string> {
  return { [key]: formatAmount(raw, token), [`${key}Raw`]: raw.toString() };
}

/** "in 3 min", "2 h ago", "now": the largest unit that fits, rounded down. */
export function relativeTime(targetSec: number, nowSec: number): string {
  const d = targetSec - nowSec;
  const a = Math.abs(d);
  if (a < 1) return "now";
  const units: [number, string][] = [
    [86_400, "d"],
    [3_600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  const [size, unit] = units.find(([u]) => a >= u) ?? [1, "s"];
  const n = Math.floor(a / size);
  return d > 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

/** "2026-12-02 06:03:09 (in 3 min)" in the local time zone. */
export function formatDeadline(targetSec: number, nowSec: number): string {
  const t = new Date(targetSec * 1000);
  const p = (n: number): string => String(n).padStart(2, "0");
  const local = `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
  return `${local} (${relativeTime(targetSec, nowSec)})`;
}
