/**
 * The credit ledgers an account can be paid into (pull payments), and which tokens to look at in
 * the per-token ones. Shared by `upow status` (read) and `upow withdraw` (pay out).
 */
import { getAddress, id, zeroPadValue, type Provider } from "ethers";
import type { Deployment, UPowContracts } from "../chain/registry";
import { deploymentStartBlock } from "../chain/registry";
import { scanLogs } from "./scan";

/** `job-market`, `audit`: per token; `dispute`, `data-availability`: the staking token. */
export const LEDGERS = ["job-market", "audit", "dispute", "data-availability"] as const;
export type Ledger = (typeof LEDGERS)[number];

export interface Credit {
  ledger: Ledger;
  token: string;
  raw: bigint;
}

/** `Credited(address indexed token, address indexed account, uint256)` of JobMarket and AuditManager. */
const TOKEN_CREDITED = id("Credited(address,address,uint256)");

/**
 * Tokens worth checking in the per-token ledgers: the deployment's tokens, plus every token the
 * account was ever credited in (the Credited events name it), so a job paid in another allowed
 * token is never missed.
 */
export async function creditTokens(p: {
  provider: Provider;
  deployment: Deployment;
  contracts: UPowContracts;
  account: string;
  toBlock: number;
  chunkSize?: number;
}): Promise<string[]> {
  const tokens = new Set<string>([await p.contracts.stakingToken.getAddress()]);
  if (p.contracts.paymentToken) tokens.add(await p.contracts.paymentToken.getAddress());
  const logs = await scanLogs({
    provider: p.provider,
    address: [await p.contracts.jobMarket.getAddress(), await p.contracts.auditManager.getAddress()],
    topics: [TOKEN_CREDITED, null, zeroPadValue(p.account, 32)],
    fromBlock: deploymentStartBlock(p.deployment),
    toBlock: p.toBlock,
    chunkSize: p.chunkSize,
  });
  for (const l of logs) tokens.add(getAddress(`0x${l.topics[1].slice(26)}`));
  return [...tokens];
}

/** Every ledger's credit of `account` at `blockTag` (zeros included), in LEDGERS order. */
export async function readCredits(p: {
  contracts: UPowContracts;
  account: string;
  tokens: readonly string[];
  ledgers?: readonly Ledger[];
  blockTag?: number;
}): Promise<Credit[]> {
  const { contracts: c, account } = p;
  const want = new Set(p.ledgers ?? LEDGERS);
  const opts = p.blockTag === undefined ? {} : { blockTag: p.blockTag };
  const staking = await c.stakingToken.getAddress();
  const out: Credit[] = [];
  for (const token of p.tokens) {
    if (want.has("job-market")) out.push({ ledger: "job-market", token, raw: await c.jobMarket.credits(token, account, opts) });
  }
  for (const token of p.tokens) {
    if (want.has("audit")) out.push({ ledger: "audit", token, raw: await c.auditManager.credits(token, account, opts) });
  }
  if (want.has("dispute")) out.push({ ledger: "dispute", token: staking, raw: await c.disputeManager.credits(account, opts) });
  if (want.has("data-availability"))
    out.push({ ledger: "data-availability", token: staking, raw: await c.dataAvailability.credits(account, opts) });
  return out;
}
