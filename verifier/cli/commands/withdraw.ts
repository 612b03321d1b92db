/** `upow withdraw`: pays out every non-zero credit of the signer and prints what was paid. */
import { Option, type Command } from "commander";
import { getAddress, isAddress } from "ethers";
import { LEDGERS, type Ledger } from "../../account/ledgers";
import { withdrawCredits } from "../../account/withdraw";
import { TokenInfoCache } from "../../chain/tokenInfo";
import { CliError, type CliContext } from "../context";
import { chainOptions, keyOptions, openChain, signerOf, type ChainCliOptions } from "./chainOptions";
import { connectDeployment } from "../../chain/registry";

interface WithdrawOptions extends ChainCliOptions {
  ledger: "all" | Ledger;
  token?: string[];
}

export function registerWithdraw(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command("withdraw")
    .description("withdraw the signer's credits: job rewards and refunds, audit fees, dispute and availability payouts")
    .addOption(new Option("--ledger <name>", "which ledger").choices(["all", ...LEDGERS]).default("all"))
    .addOption(
      new Option("--token <address...>", "only these tokens in the per-token ledgers (job-market, audit)").argParser(collectToken),
    );
  keyOptions(chainOptions(cmd)).action(async (o: WithdrawOptions) => {
    const c = ctx();
    const session = await openChain(o, c.log);
    try {
      const signer = await signerOf(o, session, c.log);
      const paid = await withdrawCredits({
        signer,
        provider: session.provider,
        deployment: session.deployment,
        contracts: connectDeployment(session.deployment, signer),
        ledgers: o.ledger === "all" ? LEDGERS : [o.ledger],
        tokens: o.token,
        chunkSize: o.chunkSize,
      });
      const tokens = new TokenInfoCache(session.provider);
      const rows = await Promise.all(paid.map(async (x) => ({ ...x, text: await tokens.format(x.token, x.raw) })));
      c.result({ account: signer.address, paid: rows }, () =>
        rows.length === 0
          ? `nothing to withdraw for ${signer.address}`
          : [`paid to ${signer.address}:`, ...rows.map((r) => `  ${r.ledger.padEnd(17)} ${r.text}  (tx ${r.txHash})`)].join("\n"),
      );
    } finally {
      session.provider.destroy();
    }
  });
}

function collectToken(v: string, prev?: string[]): string[] {
  if (!isAddress(v)) throw new CliError(`--token ${JSON.stringify(v)} is not an address`);
  return [...(prev ?? []), getAddress(v)];
}
