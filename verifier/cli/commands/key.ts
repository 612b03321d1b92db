/**
 * `upow key new|import|list|address`: encrypted keystores by name in the key dir
 * (`<state dir>/keys`, `--key-dir`, `UPOW_KEY_DIR`), which the daemons load with `--key <name>`.
 * A raw key is read from stdin (a pipe, or a hidden prompt on a terminal), never from argv.
 */
import fs from "node:fs";
import { Command, Option } from "commander";
import { Wallet } from "ethers";
import { keystoreAddress, keystorePath, keystoreScryptN, listKeystores, writeKeystore, KeyLoadError } from "../../chain/keys";
import { ensurePrivateDir } from "../../chain/privateFiles";
import { defaultKeyDir } from "../../chain/stateDir";
import type { CliContext } from "../context";
import { promptHidden, readStdin } from "../prompt";

interface KeyOptions {
  keyDir?: string;
  passwordFile?: string;
}

const keyDirOption = (): Option =>
  new Option("--key-dir <dir>", "where named keystores live (default: <state dir>/keys)").env("UPOW_KEY_DIR");
const passwordFileOption = (): Option =>
  new Option("--password-file <file>", "keystore password file (else UPOW_KEYSTORE_PASSWORD, else a prompt)").env("UPOW_PASSWORD_FILE");

export function registerKey(program: Command, ctx: () => CliContext): void {
  const key = program.command("key").description("encrypted keystores for the daemons (--key <name>)");
  // `key import <name> 0x…` must fail, not ignore the key it was handed.
  const strict = (c: Command): Command => c.allowExcessArguments(false);

  strict(key.command("new <name>"))
    .description("create a random key, store it encrypted, print its address")
    .addOption(keyDirOption())
    .addOption(passwordFileOption())
    .action(async (name: string, o: KeyOptions) => {
      const address = await store(name, Wallet.createRandom().privateKey, o);
      ctx().result({ name, address }, () => address);
    });

  strict(key.command("import <name>"))
    .description("store a private key read from stdin (a pipe or a hidden prompt; never an argument) encrypted")
    .addOption(keyDirOption())
    .addOption(passwordFileOption())
    .action(async (name: string, o: KeyOptions) => {
      keystorePath(keyDir(o), name); // a bad name fails before anything is read
      const raw = process.stdin.isTTY ? await promptHidden("private key (hex): ") : await readStdin();
      const hex = raw.startsWith("0x") ? raw : `0x${raw}`;
      // Never echo the input: it may be a real key with a typo.
      if (!/^0x[0-9a-fA-F]{64}$/.test(hex))
        throw new KeyLoadError("stdin does not hold a private key (32 bytes of hex)", { details: { name } });
      const address = await store(name, hex, o);
      ctx().result({ name, address }, () => address);
    });

  strict(key.command("list"))
    .description("named keystores and their addresses")
    .addOption(keyDirOption())
    .action((o: KeyOptions) => {
      const keys = listKeystores(keyDir(o));
      ctx().result(
        keys.map(({ name, address }) => ({ name, address })),
        () => keys.map((k) => `${k.name}\t${k.address}`).join("\n") || "(no keys)",
      );
    });

  strict(key.command("address <name>"))
    .description("print the address of a named keystore (no password needed)")
    .addOption(keyDirOption())
    .action((name: string, o: KeyOptions) => {
      const file = keystorePath(keyDir(o), name);
      if (!fs.existsSync(file)) throw new KeyLoadError(`no key named ${name}`, { details: { keyDir: keyDir(o) } });
      const address = keystoreAddress(file);
      ctx().result({ name, address }, () => address);
    });
}

function keyDir(o: KeyOptions): string {
  return o.keyDir ?? defaultKeyDir();
}

async function store(name: string, privateKey: string, o: KeyOptions): Promise<string> {
  const dir = keyDir(o);
  const file = keystorePath(dir, name);
  if (fs.existsSync(file)) throw new KeyLoadError(`a key named ${name} exists (not overwritten)`, { details: { keystorePath: file } });
  const password = await newPassword(o);
  ensurePrivateDir(dir);
  const scryptN = keystoreScryptN();
  return writeKeystore({ privateKey, password, path: file, ...(scryptN !== undefined ? { scryptN } : {}) });
}

async function newPassword(o: KeyOptions): Promise<string> {
  if (o.passwordFile !== undefined) {
    try {
      return fs.readFileSync(o.passwordFile, "utf8").replace(/\r?\n$/, "");
    } catch (cause) {
      throw new KeyLoadError("cannot read keystore password file", { cause, details: { passwordFile: o.passwordFile } });
    }
  }
  const env = process.env.UPOW_KEYSTORE_PASSWORD;
  if (env !== undefined) return env;
  // The prompt reads the terminal on stdin; with a piped key there is none to ask on.
  if (!process.stdin.isTTY) throw new KeyLoadError("no keystore password: give --password-file or UPOW_KEYSTORE_PASSWORD");
  const password = await promptHidden("new keystore password: ");
  if ((await promptHidden("again: ")) !== password) throw new KeyLoadError("the passwords differ");
  return password;
}
