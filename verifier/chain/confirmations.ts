/**
 * How deep a block must be before a daemon reads it. `auto` is 0 on a local dev chain (Hardhat
 * 31337, Ganache/Anvil-style 1337): it never reorgs, and an automining node mines no block after
 * the one a daemon waits for, so any depth > 0 would stall it. Elsewhere 2.
 */
import { UPowError } from "../errors";

export type Confirmations = number | "auto";

const LOCAL_CHAIN_IDS: readonly bigint[] = [31337n, 1337n];
const REMOTE_CONFIRMATIONS = 2;

export class ConfirmationsError extends UPowError {
  override readonly name = "ConfirmationsError";
}

/** `--confirmations <n|auto>`. */
export function parseConfirmations(v: string): Confirmations {
  if (v === "auto") return "auto";
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new ConfirmationsError("--confirmations must be a non-negative integer or auto", { details: { value: v } });
  return Number(v);
}

/** A local dev chain (Hardhat 31337, Ganache/Anvil-style 1337). */
export function isLocalChain(chainId: bigint): boolean {
  return LOCAL_CHAIN_IDS.includes(chainId);
}

export function resolveConfirmations(c: Confirmations, chainId: bigint): number {
  if (c !== "auto") return c;
  return isLocalChain(chainId) ? 0 : REMOTE_CONFIRMATIONS;
}
