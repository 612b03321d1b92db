/**
 * Helpers of the local-chain tasks (`upow:fund`, `upow:dev-key`, `upow:stake --mint`,
 * `upow:fast-forward`): they mint test tokens, hand out Hardhat's well-known dev keys or move
 * chain time, so each refuses any chain that could hold real value.
 */
import { getAddress, isAddress, parseUnits, type Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { TestToken__factory } from "../../typechain-types";
import type { Deployment } from "../../verifier/chain/registry";
import { hardhatAccountKey } from "./demo/accounts";
import { DeployError } from "./errors";

/** Hardhat's and Anvil's/Ganache's dev chain ids: no reorgs, no value. */
const LOCAL_CHAIN_IDS: readonly number[] = [31337, 1337];
/** Networks of hardhat.config.ts whose accounts are Hardhat's well-known dev accounts. */
const DEV_KEY_NETWORKS: readonly string[] = ["hardhat", "localhost"];

/** Interval of `npx hardhat node`'s blocks from UPOW_BLOCK_TIME_MS (ms; 0 turns interval mining off). */
export function blockTimeMs(env: string | undefined): number {
  if (env === undefined || env.trim() === "") return 1000;
  const ms = Number(env);
  if (!Number.isInteger(ms) || ms < 0)
    throw new TaskArgumentError(`UPOW_BLOCK_TIME_MS must be a non-negative integer (ms), got ${JSON.stringify(env)}`);
  return ms;
}

/** A local-only task was pointed at another chain or network. */
export class LocalChainOnlyError extends DeployError {
  override readonly name: string = "LocalChainOnlyError";
}

/** A task argument is malformed (names the argument). */
export class TaskArgumentError extends DeployError {
  override readonly name: string = "TaskArgumentError";
}

export function assertLocalChain(chainId: bigint | number, what: string): void {
  if (!LOCAL_CHAIN_IDS.includes(Number(chainId))) {
    throw new LocalChainOnlyError(
      `${what} runs on a local dev chain only (chainId ${LOCAL_CHAIN_IDS.join(" or ")}), not on chain ${chainId}`,
    );
  }
}

/** Hardhat's dev key #index, for the networks whose node holds those accounts; refused elsewhere. */
// Loaded by scripts/tasks.ts through `await import()`, which the unused-export check does not follow.
// ts-unused-exports:disable-next-line
export function devKey(hre: HardhatRuntimeEnvironment, index: number): { address: string; privateKey: string } {
  if (!DEV_KEY_NETWORKS.includes(hre.network.name)) {
    throw new LocalChainOnlyError(`dev keys exist on ${DEV_KEY_NETWORKS.join(" and ")} only, not on network ${hre.network.name}`);
  }
  if (!Number.isInteger(index) || index < 0) throw new TaskArgumentError(`--index must be a non-negative integer, got ${index}`);
  return hardhatAccountKey(hre, index);
}

/** `--to`: an address, or an index of the node's accounts. */
export function resolveAccount(to: string, accounts: readonly string[]): string {
  if (isAddress(to)) return getAddress(to);
  if (/^\d+$/.test(to)) {
    const a = accounts[Number(to)];
    if (a === undefined) throw new TaskArgumentError(`--to ${to}: the node has ${accounts.length} accounts`);
    return a;
  }
  throw new TaskArgumentError(`--to must be an address or an account index, got ${JSON.stringify(to)}`);
}

export type FundToken = "staking" | "payment";

export interface FundParameters {
  deployment: Deployment;
  /** Pays the ETH and sends the mint calls (TestToken mints to anyone). */
  funder: Signer;
  to: string;
  /** Token base units to mint. @default 0n */
  tokens?: bigint;
  /** @default "staking" */
  token?: string;
  /** Wei to send. @default 0n */
  eth?: bigint;
}

/** A task's amount in whole units (`"2.5"`, 18 decimals) → base units; names the flag when malformed. */
// Loaded by scripts/tasks.ts through `await import()`, which the unused-export check does not follow.
// ts-unused-exports:disable-next-line
export function parseWholeAmount(v: string, flag: string, decimals = 18): bigint {
  let x: bigint;
  try {
    x = parseUnits(v, decimals);
  } catch (cause) {
    throw new TaskArgumentError(`--${flag} must be a decimal amount, got ${JSON.stringify(v)}`, { cause });
  }
  if (x < 0n) throw new TaskArgumentError(`--${flag} must not be negative, got ${v}`);
  return x;
}

/** Mints test tokens to `to` and/or sends it ETH; returns what was done, in base units. */
export async function fund(p: FundParameters): Promise<{ to: string; token?: string; minted: bigint; eth: bigint }> {
  const token = p.token ?? "staking";
  if (token !== "staking" && token !== "payment")
    throw new TaskArgumentError(`--token must be staking or payment, got ${JSON.stringify(token)}`);
  const minted = p.tokens ?? 0n;
  const eth = p.eth ?? 0n;
  if (minted === 0n && eth === 0n) throw new TaskArgumentError("nothing to do: give --tokens and/or --eth");
  let address: string | undefined;
  if (minted > 0n) {
    const info = token === "staking" ? p.deployment.contracts.StakingToken : p.deployment.contracts.PaymentToken;
    if (info === undefined) throw new TaskArgumentError("the deployment has no payment token");
    if (info.contractName !== "TestToken")
      throw new LocalChainOnlyError(`--tokens mints, and the ${token} token is a ${info.contractName}, not a TestToken`);
    address = info.address;
    await (await TestToken__factory.connect(info.address, p.funder).mint(p.to, minted)).wait();
  }
  if (eth > 0n) await (await p.funder.sendTransaction({ to: p.to, value: eth })).wait();
  return { to: p.to, token: address, minted, eth };
}
