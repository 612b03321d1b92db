/**
 * `withdrawCredits`: pays out every non-zero credit of the signer in the chosen ledgers, one
 * `withdraw` transaction per ledger and token, and reports what each one paid (read from the
 * receipt's Withdrawn / CreditWithdrawn event, not assumed from the credit read before).
 */
import { getAddress, type ContractTransactionResponse, type Interface, type Provider, type Signer } from "ethers";
import type { Deployment, UPowContracts } from "../chain/registry";
import { decodeRevertData, revertDataOf } from "../chain/revert";
import { UPowError } from "../errors";
import { creditTokens, readCredits, LEDGERS, type Ledger } from "./ledgers";

class WithdrawError extends UPowError {
  override readonly name = "WithdrawError";
}

export interface WithdrawParameters {
  signer: Signer;
  provider: Provider;
  deployment: Deployment;
  /** Connected to `signer`. */
  contracts: UPowContracts;
  /** @default every ledger */
  ledgers?: readonly Ledger[];
  /** Only these tokens in the per-token ledgers (job-market, audit). @default every token credited */
  tokens?: readonly string[];
  chunkSize?: number;
}

export interface Payout {
  ledger: Ledger;
  token: string;
  raw: bigint;
  txHash: string;
}

export async function withdrawCredits(p: WithdrawParameters): Promise<Payout[]> {
  const account = getAddress(await p.signer.getAddress());
  const { contracts: c } = p;
  const head = await p.provider.getBlockNumber();
  const tokens =
    p.tokens !== undefined
      ? p.tokens.map((t) => getAddress(t))
      : await creditTokens({
          provider: p.provider,
          deployment: p.deployment,
          contracts: c,
          account,
          toBlock: head,
          chunkSize: p.chunkSize,
        });
  const owed = (await readCredits({ contracts: c, account, tokens, ledgers: p.ledgers ?? LEDGERS })).filter((x) => x.raw > 0n);
  const out: Payout[] = [];
  for (const credit of owed) {
    const { contract, send } = withdrawCall(c, credit.ledger, credit.token);
    const target = await ledgerAddress(c, credit.ledger);
    let tx: ContractTransactionResponse;
    try {
      tx = await send();
    } catch (cause) {
      const data = revertDataOf(cause);
      const why = data === undefined ? String((cause as Error).message ?? cause) : decodeRevertData(data, [contract]).reason;
      throw new WithdrawError(`withdraw from ${credit.ledger} failed: ${why}`, {
        cause,
        details: { ledger: credit.ledger, token: credit.token, paidSoFar: out.length },
      });
    }
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) {
      throw new WithdrawError(`withdraw from ${credit.ledger} reverted`, {
        details: { ledger: credit.ledger, token: credit.token, tx: tx.hash },
      });
    }
    let raw = 0n;
    for (const l of receipt.logs) {
      if (getAddress(l.address) !== target) continue;
      const ev = contract.parseLog(l);
      if (ev !== null && (ev.name === "Withdrawn" || ev.name === "CreditWithdrawn")) raw += ev.args.getValue("amount") as bigint;
    }
    out.push({ ledger: credit.ledger, token: credit.token, raw, txHash: tx.hash });
  }
  return out;
}

function withdrawCall(
  c: UPowContracts,
  ledger: Ledger,
  token: string,
): { contract: Interface; send: () => Promise<ContractTransactionResponse> } {
  switch (ledger) {
    case "job-market":
      return { contract: c.jobMarket.interface, send: () => c.jobMarket.withdraw(token) };
    case "audit":
      return { contract: c.auditManager.interface, send: () => c.auditManager.withdraw(token) };
    case "dispute":
      return { contract: c.disputeManager.interface, send: () => c.disputeManager.withdraw() };
    case "data-availability":
      return { contract: c.dataAvailability.interface, send: () => c.dataAvailability.withdraw() };
  }
}

async function ledgerAddress(c: UPowContracts, ledger: Ledger): Promise<string> {
  const contract = { "job-market": c.jobMarket, audit: c.auditManager, dispute: c.disputeManager, "data-availability": c.dataAvailability }[
    ledger
  ];
  return getAddress(await contract.getAddress());
}
