/** `upow status`: jobs, open disputes, stake and credits of one account, with units and names. */
import { Option, type Command } from "commander";
import { getAddress, isAddress } from "ethers";
import { renderAccountStatus } from "../../account/render";
import { readAccountStatus } from "../../account/status";
import { loadSigner } from "../../chain/keys";
import { CliError, type CliContext } from "../context";
import { keystoreAddress } from "../../chain/keys";
import { chainOptions, keyOptions, keystoreOf, openChain, type ChainCliOptions } from "./chainOptions";

interface StatusOptions extends ChainCliOptions {
  account?: string;
}

export function registerStatus(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command("status")
    .description("an account's jobs, open disputes (deadlines), stake and credits in every ledger")
    .addOption(new Option("--account <address>", "the account to show (default: the --key / --keystore / UPOW_PRIVATE_KEY account)"));
  keyOptions(chainOptions(cmd)).action(async (o: StatusOptions) => {
    const c = ctx();
    const account = await accountOf(o, c);
    const session = await openChain(o, c.log);
    try {
      const status = await readAccountStatus({ ...session, account, chunkSize: o.chunkSize });
      c.result(status, () => renderAccountStatus(status));
    } finally {
      session.provider.destroy();
    }
  });
}

/** --account, else the keystore's address (no password needed), else the env key's address. */
async function accountOf(o: StatusOptions, c: CliContext): Promise<string> {
  if (o.account !== undefined) {
    if (!isAddress(o.account)) throw new CliError(`--account ${JSON.stringify(o.account)} is not an address`);
    return getAddress(o.account);
  }
  const keystore = keystoreOf(o);
  if (keystore !== undefined && !process.env.UPOW_PRIVATE_KEY) return keystoreAddress(keystore);
  if (process.env.UPOW_PRIVATE_KEY) return (await loadSigner({ logger: c.log })).address;
  throw new CliError("no account: pass --account <address>, --key <name>, --keystore <file>, or set UPOW_PRIVATE_KEY");
}
