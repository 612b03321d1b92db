/**
 * Chain access of the one-shot account commands (`upow status`, `upow withdraw`): the
 * `--deployments`/`--rpc-url` flags with their env fallbacks, and how the account or signer is
 * found; keys resolve as the daemons' do (chain/keys.ts).
 */
import { Option, type Command } from "commander";
import type { Logger } from "pino";
import { daemonKeySource, loadSigner, type LoadedSigner } from "../../chain/keys";
import { defaultKeyDir } from "../../chain/stateDir";
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

const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

export function chainOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--deployments <file>", "deployment registry written by scripts/deploy.ts").env("UPOW_DEPLOYMENTS"))
    .addOption(
      new Option("--rpc-url <url...>", `JSON-RPC URLs, tried in order (env: comma-separated) (default: ${DEFAULT_RPC_URL})`)
        .env("UPOW_RPC_URLS")
        .argParser(collectUrls),
    )
    .addOption(
      new Option("--chunk-size <blocks>", "blocks per getLogs request of the event scan")
        .default(5_000)
        .argParser(positiveInt("chunk-size")),
    );
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
  return [
    ...(prev ?? []),
    ...v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  ];
}

function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer`, { details: { value: v } });
    return n;
  };
}

/** The keystore file of `--key <name>` or `--keystore` (the daemons' rule: chain/keys.ts). */
export function keystoreOf(o: ChainCliOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return daemonKeySource({ keyDir: o.keyDir ?? defaultKeyDir(env), key: o.key, keystore: o.keystore }, env).keystorePath;
}

export interface ChainSession {
  provider: UPowProvider;
  deployment: Deployment;
  contracts: UPowContracts;
}

/** Loads the deployment, connects to the node and checks it is the deployment's chain. */
export async function openChain(o: ChainCliOptions, log: Logger): Promise<ChainSession> {
  if (o.deployments === undefined || o.deployments === "")
    throw new CliError("no deployment: pass --deployments <file> or set UPOW_DEPLOYMENTS");
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
