/**
 * `upow key new|import|list|address` through bin/upow.js as a child process, as an operator runs
 * it: the key arrives on stdin, never in argv, and never reaches stdout, stderr or a file in clear.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { KeyLoadError, listKeystores, loadSigner, writeKeystore } from "../../../verifier/chain/keys";
import { buildProgram } from "../../../verifier/cli/main";
import { createDaemonLogger } from "../../../verifier/cli/logger";
import { tempDir } from "./helpers";

const BIN = path.resolve(__dirname, "..", "..", "..", "bin", "upow.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  argv: string[];
}

/** Runs `upow <args>` with `stdin` piped in; env: only what a shell would pass plus `env`. */
function upow(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, UPOW_KEYSTORE_SCRYPT_N: "1024", ...opts.env };
  const argv = [BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, argv }));
    child.stdin.end(opts.stdin ?? "");
  });
}

/** Every file under `dir`, read as text. */
function allFiles(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), "utf8"))
    .join("\n");
}

describe("upow key (child process through bin/upow.js)", function () {
  this.timeout(600_000);
  let home: string;
  let pwFile: string;
  const wallet = Wallet.createRandom();
  const bare = wallet.privateKey.slice(2).toLowerCase();
  const noKey = (r: Run, what: string): void => {
    expect((r.stdout + r.stderr + r.argv.join(" ")).toLowerCase(), what).to.not.contain(bare);
  };

  before(function () {
    home = tempDir("upow-keyhome-");
    pwFile = path.join(home, "pw");
    fs.writeFileSync(pwFile, "correct horse\n", { mode: 0o600 });
  });

  it("import reads the key from a stdin pipe, stores it encrypted (0600 in a 0700 dir), prints the address; list and address show it", async function () {
    const imp = await upow(["key", "import", "worker", "--password-file", pwFile], {
      stdin: `${wallet.privateKey}\n`,
      env: { UPOW_HOME: home },
    });
    expect(imp.code, imp.stderr).to.equal(0);
    expect(imp.stdout.trim()).to.equal(wallet.address);
    noKey(imp, "import");
    const keyDir = path.join(home, "keys");
    const file = path.join(keyDir, "worker.json");
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.statSync(keyDir).mode & 0o777).to.equal(0o700);
    expect(allFiles(home).toLowerCase()).to.not.contain(bare);

    // The keystore is what the daemons unlock: the same key, with the same password.
    const signer = await loadSigner({ env: {}, keystorePath: file, passwordFile: pwFile, logger: createDaemonLogger({ level: "silent" }) });
    expect(signer.privateKey).to.equal(wallet.privateKey);

    const addr = await upow(["key", "address", "worker"], { env: { UPOW_HOME: home } });
    expect([addr.code, addr.stdout.trim()]).to.deep.equal([0, wallet.address]);
    const list = await upow(["--json", "key", "list"], { env: { UPOW_HOME: home } });
    expect(list.code, list.stderr).to.equal(0);
    expect(JSON.parse(list.stdout)).to.deep.equal([{ name: "worker", address: wallet.address }]);
    noKey(list, "list");
  });

  it("new makes a random key in UPOW_KEY_DIR (password from UPOW_KEYSTORE_PASSWORD); the daemons unlock it", async function () {
    const keyDir = tempDir("upow-keydir-");
    const created = await upow(["key", "new", "verifier-3"], { env: { UPOW_KEYSTORE_PASSWORD: "pw", UPOW_KEY_DIR: keyDir } });
    expect(created.code, created.stderr).to.equal(0);
    const address = created.stdout.trim();
    expect(address).to.match(/^0x[0-9a-fA-F]{40}$/);
    expect(listKeystores(keyDir).map((k) => [k.name, k.address])).to.deep.equal([["verifier-3", address]]);
    const signer = await loadSigner({
      env: { UPOW_KEYSTORE_PASSWORD: "pw" },
      keystorePath: path.join(keyDir, "verifier-3.json"),
      logger: createDaemonLogger({ level: "silent" }),
    });
    expect(signer.address).to.equal(address);
    expect(allFiles(keyDir).toLowerCase()).to.not.contain(signer.privateKey.slice(2).toLowerCase());
  });

  it("never overwrites a key, refuses a malformed key without echoing it, and needs a password when stdin is a pipe", async function () {
    // "worker" was imported above: a second import under that name changes nothing.
    const file = path.join(home, "keys", "worker.json");
    const before = fs.readFileSync(file, "utf8");
    const other = Wallet.createRandom();
    const twice = await upow(["key", "import", "worker", "--password-file", pwFile], { stdin: other.privateKey, env: { UPOW_HOME: home } });
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.match(/a key named worker exists/);
    expect(fs.readFileSync(file, "utf8")).to.equal(before);
    expect((twice.stdout + twice.stderr).toLowerCase()).to.not.contain(other.privateKey.slice(2).toLowerCase());

    // One hex digit short: an error that names nothing of the input.
    const keyDir = tempDir("upow-keydir-");
    const almost = wallet.privateKey.slice(0, -1);
    const bad = await upow(["key", "import", "x", "--key-dir", keyDir, "--password-file", pwFile], { stdin: almost });
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/stdin does not hold a private key/);
    expect(bad.stderr.toLowerCase()).to.not.contain(almost.slice(2, 40).toLowerCase());
    expect(fs.existsSync(path.join(keyDir, "x.json"))).to.equal(false);

    const noPw = await upow(["key", "import", "y", "--key-dir", keyDir], { stdin: wallet.privateKey });
    expect(noPw.code).to.equal(1);
    expect(noPw.stderr).to.match(/no keystore password: give --password-file or UPOW_KEYSTORE_PASSWORD/);
    noKey(noPw, "no password");
    expect(fs.readdirSync(keyDir)).to.deep.equal([]);
  });

  describe("in process (the same commands, no child process)", function () {
    const run = async (args: string[]): Promise<Error | undefined> => {
      const program = buildProgram();
      program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      for (const c of program.commands) c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      try {
        await program.parseAsync(["node", "upow", ...args]);
        return undefined;
      } catch (e) {
        return e as Error;
      }
    };

    it("has no way to pass a key as an argument", async function () {
      const keyDir = tempDir("upow-keydir-");
      const e = await run(["key", "import", "z", wallet.privateKey, "--key-dir", keyDir, "--password-file", pwFile]);
      expect((e as { code?: string } | undefined)?.code).to.equal("commander.excessArguments");
      expect(fs.readdirSync(keyDir)).to.deep.equal([]);
    });

    it("a keystore whose clear address was edited lists that address but never unlocks as it", async function () {
      const keyDir = tempDir("upow-keydir-");
      const file = path.join(keyDir, "w.json");
      await writeKeystore({ privateKey: wallet.privateKey, password: "pw", path: file, scryptN: 1024 });
      const other = Wallet.createRandom().address;
      const json = JSON.parse(fs.readFileSync(file, "utf8")) as { address: string };
      fs.writeFileSync(file, JSON.stringify({ ...json, address: other.slice(2).toLowerCase() }));
      expect(listKeystores(keyDir)[0]?.address).to.equal(other);
      const e = await loadSigner({
        env: { UPOW_KEYSTORE_PASSWORD: "pw" },
        keystorePath: file,
        logger: createDaemonLogger({ level: "silent" }),
      }).then(
        () => undefined,
        (x: Error) => x,
      );
      expect(e).to.be.instanceOf(KeyLoadError);
    });

    it("refuses a key name that leaves the key dir, and names a missing key", async function () {
      const keyDir = tempDir("upow-keydir-");
      const traversal = await run(["key", "import", "../evil", "--key-dir", keyDir, "--password-file", pwFile]);
      expect(traversal).to.be.instanceOf(KeyLoadError);
      expect(traversal?.message).to.match(/key name/);
      expect(fs.existsSync(path.join(keyDir, "..", "evil.json"))).to.equal(false);
      const missing = await run(["key", "address", "nobody", "--key-dir", keyDir]);
      expect(missing?.message).to.match(/no key named nobody/);
    });
  });
});
