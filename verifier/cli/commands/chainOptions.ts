/**
 * Chain access of the one-shot account commands (`upow status`, `upow withdraw`): the
 * `--deployments`/`--rpc-url` flags with their env fallbacks, and how the account or signer is
 * found. Kept in one place so the key helper's `--key <name>` wiring can replace `keyOptions` and
 * `keystoreOf` without touching the commands.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Option, type Command } from "commander";
import { getAddress, isAddress } from "ethers";
import type { Logger } from "pino";
import { loadSigner, type LoadedSigner } from "../../chain/keys";
import { connectDeployment, loadDeployment, assertChainId, type Deployment, type UPowContracts } from "../../chain/registry";
import { createProvider, type UPowProvider } from "../../chain/rpc";
import { CliError } from "../context";

export interface ChainCliOptions {
  deployments?: string;
  rpcUrl?: string[];
  keystore?: string;
  key?: string;
  keyDir?: string;
  passwordFile?: string;
  chunkSize?: number;
}

export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

export function chainOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--deployments <file>", "deployment registry written by scripts/deploy.ts").env("UPOW_DEPLOYMENTS"))
    .addOption(new Option("--rpc-url <url...>", `JSON-RPC URLs, tried in order (env: comma-separated) (default: ${DEFAULT_RPC_URL})`)
      .env("UPOW_RPC_URLS").argParser(collectUrls))
    .addOption(new Option("--chunk-size <blocks>", "blocks per getLogs request of the event scan").default(5_000).argParser(positiveInt("chunk-size")));
}

/** `--key <name>` / `--keystore <file>` / `--password-file <file>` (UPOW_PRIVATE_KEY wins when set). */
export function keyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--key <name>", "keystore named <name> in the key dir (upow key import)"))
    .addOption(new Option("--key-dir <dir>", "key dir (default: <state dir>/keys)").env("UPOW_KEY_DIR"))
    .addOption(new Option("--keystore <file>", "encrypted JSON keystore file"))
    .addOption(new Option("--password-file <file>", "file holding the keystore password (else UPOW_KEYSTORE_PASSWORD)"));
}

function collectUrls(v: string, prev?: string[]): string[] {
  return [...(prev ?? []), ...v.split(",").map((s) => s.trim()).filter((s) => s.length > 0)];
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer`, { details: { value: v } });
    return n;
  };
}

/** `${UPOW_HOME:-${XDG_STATE_HOME:-~/.local/state}/upow}/keys`, or --key-dir. */
export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.UPOW_HOME ?? path.join(env.XDG_STATE_HOME ?? path.join(os.homedir(), ".local", "state"), "upow");
  return path.join(state, "keys");
}

/** The keystore file of `--key <name>` or `--keystore`. */
export function keystoreOf(o: ChainCliOptions): string | undefined {
  if (o.key === undefined) return o.keystore;
  if (!/^[A-Za-z0-9_.-]+$/.test(o.key)) throw new CliError(`--key ${JSON.stringify(o.key)}: names are letters, digits, _ . -`);
  return path.join(o.keyDir ?? defaultKeyDir(), `${o.key}.json`);
}

/** The address of a keystore, from its plaintext `address` field (no password needed). */
export function keystoreAddress(file: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (cause) {
    throw new CliError(`cannot read keystore ${file}`, { cause, details: { file } });
  }
  const a = (raw as { address?: unknown }).address;
  const hex = typeof a === "string" ? (a.startsWith("0x") ? a : `0x${a}`) : "";
  if (!isAddress(hex)) throw new CliError(`keystore ${file} has no address field`, { details: { file } });
  return getAddress(hex);
}

export interface ChainSession {
  provider: UPowProvider;
  deployment: Deployment;
  contracts: UPowContracts;
}

/** Loads the deployment, connects to the node and checks it is the deployment's chain. */
export async function openChain(o: ChainCliOptions, log: Logger): Promise<ChainSession> {
  if (o.deployments === undefined || o.deployments === "") throw new CliError("no deployment: pass --deployments <file> or set UPOW_DEPLOYMENTS");
  const deployment = loadDeployment({ file: o.deployments });
  const urls = o.rpcUrl !== undefined && o.rpcUrl.length > 0 ? o.rpcUrl : [DEFAULT_RPC_URL];
  const provider = createProvider({ urls, logger: log, retries: 1 });
  try {
    await assertChainId(deployment, provider);
  } catch (e) {
    provider.destroy();
    throw e;
  }
  return { provider, deployment, contracts: connectDeployment(deployment, provider) };
}

/** The signing key of `upow withdraw`: UPOW_PRIVATE_KEY, or the keystore of --key / --keystore. */
export function signerOf(o: ChainCliOptions, session: ChainSession, log: Logger): Promise<LoadedSigner> {
  return loadSigner({ keystorePath: keystoreOf(o), passwordFile: o.passwordFile, provider: session.provider, logger: log });
}
