/** Private keys of the in-process Hardhat accounts (the daemons sign with keys, not with Hardhat signers). */
import { HDNodeWallet, Wallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { DeployError } from "../errors";

export function hardhatAccountKey(hre: HardhatRuntimeEnvironment, index: number): { address: string; privateKey: string } {
  const accounts = hre.config.networks.hardhat.accounts;
  if (Array.isArray(accounts)) {
    const a = accounts[index];
    if (a === undefined) throw new DeployError(`no hardhat account ${index}`);
    return { address: new Wallet(a.privateKey).address, privateKey: a.privateKey };
  }
  if (index >= accounts.count) throw new DeployError(`no hardhat account ${index} (count ${accounts.count})`);
  const w = HDNodeWallet.fromPhrase(accounts.mnemonic, accounts.passphrase, `${accounts.path}/${accounts.initialIndex + index}`);
  return { address: w.address, privateKey: w.privateKey };
}
