import fs from "node:fs";
import { Wallet, encryptKeystoreJson } from "ethers";
import type { HDNodeWallet, Provider } from "ethers";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { ensurePrivateFile } from "./privateFiles";

/**
 * Load the one signing key of a daemon: a raw private key from an environment variable, or an
 * encrypted JSON keystore with its password from the environment or a file. The key never
 * reaches a log line or an error message; only the address does.
 */

export interface LoadSignerParameters {
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Env var holding a 0x-hex private key. @default "UPOW_PRIVATE_KEY" */
  privateKeyEnv?: string;
  /** Encrypted JSON keystore file; used when the private-key env var is unset. */
  keystorePath?: string;
  /** Env var holding the keystore password. @default "UPOW_KEYSTORE_PASSWORD" */
  passwordEnv?: string;
  /** File holding the keystore password (trailing newline ignored); wins over `passwordEnv`. */
  passwordFile?: string;
  provider?: Provider;
  logger: Logger;
}

export type LoadedSigner = Wallet | HDNodeWallet;

export class KeyLoadError extends UPowError {
  override readonly name: string = "KeyLoadError";
}

export async function loadSigner(params: LoadSignerParameters): Promise<LoadedSigner> {
  const env = params.env ?? process.env;
  const keyEnv = params.privateKeyEnv ?? "UPOW_PRIVATE_KEY";
  const raw = env[keyEnv];
  let wallet: LoadedSigner;
  let source: string;
  if (raw !== undefined && raw !== "") {
    const hex = raw.trim().startsWith("0x") ? raw.trim() : `0x${raw.trim()}`;
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
      // Never echo the value: it may be a real key with a typo.
      throw new KeyLoadError("private key env var is not 32 bytes of hex", { details: { env: keyEnv } });
    }
    try {
      wallet = new Wallet(hex);
    } catch {
      throw new KeyLoadError("private key env var is not a valid secp256k1 key", { details: { env: keyEnv } });
    }
    source = `env:${keyEnv}`;
  } else if (params.keystorePath) {
    // Key files are 0600 (V8.5): tighten what an operator left readable before reading it.
    ensurePrivateFile(params.keystorePath, params.logger);
    if (params.passwordFile) ensurePrivateFile(params.passwordFile, params.logger);
    const password = readPassword(params, env);
    let json: string;
    try {
      json = fs.readFileSync(params.keystorePath, "utf8");
    } catch (cause) {
      throw new KeyLoadError("cannot read keystore file", { cause, details: { keystorePath: params.keystorePath } });
    }
    try {
      wallet = await Wallet.fromEncryptedJson(json, password);
    } catch {
      // The cause can quote the JSON; keep it out.
      throw new KeyLoadError("cannot decrypt keystore (wrong password or corrupt file)", {
        details: { keystorePath: params.keystorePath },
      });
    }
    source = `keystore:${params.keystorePath}`;
  } else {
    throw new KeyLoadError("no key configured: set the private-key env var or a keystore path", {
      details: { env: keyEnv },
    });
  }
  params.logger.info({ address: wallet.address, source }, "signer loaded");
  return params.provider ? wallet.connect(params.provider) : wallet;
}

function readPassword(params: LoadSignerParameters, env: NodeJS.ProcessEnv): string {
  if (params.passwordFile) {
    try {
      return fs.readFileSync(params.passwordFile, "utf8").replace(/\r?\n$/, "");
    } catch (cause) {
      throw new KeyLoadError("cannot read keystore password file", { cause, details: { passwordFile: params.passwordFile } });
    }
  }
  const name = params.passwordEnv ?? "UPOW_KEYSTORE_PASSWORD";
  const password = env[name];
  if (password === undefined) {
    throw new KeyLoadError("keystore password not given (env var or file)", { details: { passwordEnv: name } });
  }
  return password;
}

export interface WriteKeystoreParameters {
  privateKey: string;
  password: string;
  path: string;
  /** scrypt cost; lower only in tests. @default 131072 (ethers' default) */
  scryptN?: number;
}

/** Encrypt a key into a JSON keystore file (mode 0600); returns the address. */
export async function writeKeystore(params: WriteKeystoreParameters): Promise<string> {
  let wallet: Wallet;
  try {
    wallet = new Wallet(params.privateKey);
  } catch {
    throw new KeyLoadError("not a valid private key");
  }
  const json = await encryptKeystoreJson(
    { address: wallet.address, privateKey: wallet.privateKey },
    params.password,
    params.scryptN === undefined ? {} : { scrypt: { N: params.scryptN } },
  );
  fs.writeFileSync(params.path, json, { mode: 0o600, flag: "wx" });
  return wallet.address;
}
