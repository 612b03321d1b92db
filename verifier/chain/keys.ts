import fs from "node:fs";
import path from "node:path";
import { Wallet, encryptKeystoreJson, getAddress } from "ethers";
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
  /** Asks for the password (a TTY prompt) when neither the file nor the env var gives it. */
  promptPassword?: () => Promise<string>;
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
    const password = readPassword(params, env) ?? (params.promptPassword ? await params.promptPassword() : undefined);
    if (password === undefined) {
      throw new KeyLoadError("keystore password not given (--password-file or the env var)", {
        details: { passwordEnv: params.passwordEnv ?? "UPOW_KEYSTORE_PASSWORD" },
      });
    }
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
    throw new KeyLoadError("no key configured: give --key <name> (upow key import), --keystore <file> or the private-key env var", {
      details: { env: keyEnv },
    });
  }
  params.logger.info({ address: wallet.address, source }, "signer loaded");
  return params.provider ? wallet.connect(params.provider) : wallet;
}

function readPassword(params: LoadSignerParameters, env: NodeJS.ProcessEnv): string | undefined {
  if (params.passwordFile) {
    try {
      return fs.readFileSync(params.passwordFile, "utf8").replace(/\r?\n$/, "");
    } catch (cause) {
      throw new KeyLoadError("cannot read keystore password file", { cause, details: { passwordFile: params.passwordFile } });
    }
  }
  return env[params.passwordEnv ?? "UPOW_KEYSTORE_PASSWORD"];
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
  try {
    fs.writeFileSync(params.path, json, { mode: 0o600, flag: "wx" });
  } catch (cause) {
    const exists = (cause as NodeJS.ErrnoException).code === "EEXIST";
    throw new KeyLoadError(exists ? "a keystore already exists at this path (not overwritten)" : "cannot write the keystore", {
      cause,
      details: { path: params.path },
    });
  }
  return wallet.address;
}

// ---- the key dir: keystores by name ---------------------------------------------------------------

/** A key name is a file name in the key dir: nothing that could point outside it. */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function keystorePath(keyDir: string, name: string): string {
  if (!KEY_NAME.test(name) || name.endsWith(".json")) {
    throw new KeyLoadError("a key name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, without .json", {
      details: { name },
    });
  }
  return path.join(keyDir, `${name}.json`);
}

/** The address a keystore names in clear (no password needed); checked against the key when it is unlocked. */
export function keystoreAddress(file: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (cause) {
    throw new KeyLoadError("cannot read keystore file", { cause, details: { keystorePath: file } });
  }
  const address = (parsed as { address?: unknown } | null)?.address;
  try {
    return getAddress(typeof address === "string" && !address.startsWith("0x") ? `0x${address}` : String(address));
  } catch {
    throw new KeyLoadError("keystore file names no address", { details: { keystorePath: file } });
  }
}

export interface NamedKey {
  readonly name: string;
  readonly address: string;
  readonly path: string;
}

/** Keystores in the key dir, by name; a missing dir holds none. */
export function listKeystores(keyDir: string): NamedKey[] {
  let files: string[];
  try {
    files = fs.readdirSync(keyDir);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new KeyLoadError("cannot read the key dir", { cause, details: { keyDir } });
  }
  return files
    .filter((f) => f.endsWith(".json") && KEY_NAME.test(f.slice(0, -5)))
    .sort()
    .map((f) => ({ name: f.slice(0, -5), path: path.join(keyDir, f), address: keystoreAddress(path.join(keyDir, f)) }));
}

/**
 * scrypt cost of new keystores: ethers' 131072 unless `UPOW_KEYSTORE_SCRYPT_N` lowers it (tests,
 * throw-away local keys: each unlock then takes milliseconds instead of about a second).
 */
export function keystoreScryptN(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.UPOW_KEYSTORE_SCRYPT_N;
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1024 || n > 1 << 20 || (n & (n - 1)) !== 0) {
    throw new KeyLoadError("UPOW_KEYSTORE_SCRYPT_N must be a power of two from 1024 to 1048576", { details: { value: v } });
  }
  return n;
}

export interface DaemonKeyOptions {
  /** A keystore by name in `keyDir` (`upow key import <name>`). */
  readonly key?: string;
  readonly keyDir: string;
  /** A keystore by path. */
  readonly keystore?: string;
  readonly passwordFile?: string;
}

/**
 * Which key a daemon signs with: a named keystore, a keystore path, or the raw key in
 * UPOW_PRIVATE_KEY. Naming two is refused: a key left exported in the shell would otherwise sign
 * in place of the one the command line names.
 */
export function daemonKeySource(
  o: DaemonKeyOptions,
  env: NodeJS.ProcessEnv,
): Pick<LoadSignerParameters, "env" | "keystorePath" | "passwordFile"> {
  if (o.key !== undefined && o.keystore !== undefined)
    throw new KeyLoadError("give --key or --keystore, not both", { details: { key: o.key, keystore: o.keystore } });
  const keystore = o.key !== undefined ? keystorePath(o.keyDir, o.key) : o.keystore;
  if (keystore !== undefined && env.UPOW_PRIVATE_KEY) {
    throw new KeyLoadError("UPOW_PRIVATE_KEY is set and a keystore is named: unset one of them", { details: { keystorePath: keystore } });
  }
  if (o.key !== undefined && keystore !== undefined && !fs.existsSync(keystore)) {
    throw new KeyLoadError(`no key named ${o.key} (upow key list; upow key import ${o.key})`, { details: { keyDir: o.keyDir } });
  }
  return {
    env,
    ...(keystore !== undefined ? { keystorePath: keystore } : {}),
    ...(o.passwordFile !== undefined ? { passwordFile: o.passwordFile } : {}),
  };
}
