/** Shared set-up of the daemon CLI tests: real keystores, a registry file, the start commands with a recording `run`. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { writeKeystore } from "../../../verifier/chain/keys";
import { CONTRACT_KEYS, DEPLOYMENT_FORMAT, type Deployment } from "../../../verifier/chain/registry";
import type { VerifierConfig } from "../../../verifier/daemon/config";
import type { WorkerConfig } from "../../../verifier/worker/config";
import { verifierStartCommand } from "../../../verifier/cli/commands/verifierStart";
import { workerStartCommand } from "../../../verifier/cli/commands/workerStart";

export function tempDir(prefix = "upow-cli-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestKey {
  readonly address: string;
  readonly privateKey: string;
  readonly keystore: string;
  readonly passwordFile: string;
  /** `--keystore <file> --password-file <file>` */
  readonly args: string[];
}

/** A random key in a keystore (scrypt N = 1024: fast) with its password file. */
export async function testKey(dir: string, name = "k"): Promise<TestKey> {
  const wallet = Wallet.createRandom();
  const keystore = path.join(dir, `${name}.json`);
  const passwordFile = path.join(dir, `${name}.pw`);
  fs.writeFileSync(passwordFile, "test-password\n", { mode: 0o600 });
  await writeKeystore({ privateKey: wallet.privateKey, password: "test-password", path: keystore, scryptN: 1024 });
  return {
    address: wallet.address,
    privateKey: wallet.privateKey,
    keystore,
    passwordFile,
    args: ["--keystore", keystore, "--password-file", passwordFile],
  };
}

/** A registry file as scripts/deploy.ts writes it: every contract at a fresh address, deployed from `firstBlock` on. */
export function writeDeployment(dir: string, firstBlock = 7): { file: string; deployment: Deployment } {
  const contracts = Object.fromEntries(
    CONTRACT_KEYS.map((k, i) => [
      k,
      { contractName: k, address: Wallet.createRandom().address, blockNumber: firstBlock + i, txHash: null, abi: [] },
    ]),
  );
  const deployment = {
    format: DEPLOYMENT_FORMAT,
    network: "localhost",
    chainId: 31337,
    deployer: Wallet.createRandom().address,
    gitCommit: "test",
    deployedAt: new Date(0).toISOString(),
    params: {},
    contracts,
  } as unknown as Deployment;
  const file = path.join(dir, "localhost.json");
  fs.writeFileSync(file, JSON.stringify(deployment));
  return { file, deployment };
}

/** Runs `verifier start` / `worker start` through commander; returns the config `run` got (the daemon itself is not started). */
export async function parseVerifierStart(args: string[]): Promise<VerifierConfig> {
  let got: VerifierConfig | undefined;
  await verifierStartCommand(async (c) => void (got = c))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .parseAsync(args, { from: "user" });
  if (!got) throw new Error("verifier start did not run");
  return got;
}

export async function parseWorkerStart(args: string[]): Promise<WorkerConfig> {
  let got: WorkerConfig | undefined;
  await workerStartCommand(async (c) => void (got = c))
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .parseAsync(args, { from: "user" });
  if (!got) throw new Error("worker start did not run");
  return got;
}

/** Every env var the daemons read, cleared for the test and restored after it. */
const DAEMON_ENV = /^(UPOW_|XDG_STATE_HOME$)/;

export async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.entries(process.env).filter(([k]) => DAEMON_ENV.test(k)));
  for (const k of Object.keys(saved)) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const k of Object.keys(process.env)) if (DAEMON_ENV.test(k)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}
