/**
 * Protocol v3 V8.5: data directories 0700; journal (with -wal/-shm), keystore and password files
 * 0600. New ones are created so; older, too-open ones are tightened at startup with a log line.
 * Modes are checked on the real files (umask 022 would leave them group/world readable otherwise).
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { Wallet } from "ethers";
import { acquireInstanceLock } from "../../../verifier/chain/instance-lock";
import { Journal } from "../../../verifier/chain/journal";
import { loadSigner, writeKeystore } from "../../../verifier/chain/keys";
import { ensurePrivateDir } from "../../../verifier/chain/privateFiles";
import { LocalStore } from "../../../verifier/store";
import { captureLogger, tempDir } from "./helpers";

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

describe("private data dirs and files (V8.5)", function () {
  let oldUmask: number;
  before(function () {
    // The usual umask: without the explicit modes, files would come out 0644 and dirs 0755.
    oldUmask = process.umask(0o022);
  });
  after(function () {
    process.umask(oldUmask);
  });

  describe("when created fresh", function () {
    it("the instance lock creates the data dir (and missing parents) 0700 and its lock file 0600", function () {
      const dataDir = path.join(tempDir(), "a", "data");
      const lock = acquireInstanceLock({ dataDir });
      try {
        expect(modeOf(dataDir)).to.equal(0o700);
        expect(modeOf(path.dirname(dataDir))).to.equal(0o700);
        expect(modeOf(lock.path)).to.equal(0o600);
      } finally {
        lock.release();
      }
    });

    it("the journal file and its -wal and -shm are 0600, its directory 0700", function () {
      const file = path.join(tempDir(), "sub", "journal.sqlite");
      const journal = Journal.open(file);
      try {
        journal.kv.put("vote-salt:1", "0xsecret"); // forces the WAL to be written
        expect(modeOf(path.dirname(file))).to.equal(0o700);
        for (const f of [file, `${file}-wal`, `${file}-shm`]) {
          expect(fs.existsSync(f), f).to.equal(true);
          expect(modeOf(f), f).to.equal(0o600);
        }
      } finally {
        journal.close();
      }
    });

    it("a LocalStore directory and its shard directories are 0700", async function () {
      const root = path.join(tempDir(), "artifacts");
      const store = await LocalStore.open(root);
      const hash = await store.put(Buffer.from("bytes"));
      expect(modeOf(root)).to.equal(0o700);
      expect(modeOf(path.dirname(store.path(hash)))).to.equal(0o700);
    });
  });

  describe("when an older install left them open", function () {
    it("tightens a 0755 data dir at startup and logs it", function () {
      const dataDir = path.join(tempDir(), "data");
      fs.mkdirSync(dataDir, { mode: 0o755 });
      fs.chmodSync(dataDir, 0o755);
      const { logger, text } = captureLogger();
      const lock = acquireInstanceLock({ dataDir, logger });
      lock.release();
      expect(modeOf(dataDir)).to.equal(0o700);
      expect(text()).to.contain("tightened permissions").and.to.contain('"was":"755"');
    });

    it("tightens a 0644 journal and its 0644 -wal/-shm on open, and logs each", function () {
      const file = path.join(tempDir(), "journal.sqlite");
      const first = Journal.open(file);
      first.kv.put("challenge-salt:1", "0xsecret");
      // Leave the WAL files behind as a crash would, then loosen everything like an old version did.
      const copy = path.join(tempDir(), "journal.sqlite");
      for (const suffix of ["", "-wal", "-shm"]) fs.copyFileSync(`${file}${suffix}`, `${copy}${suffix}`);
      first.close();
      for (const suffix of ["", "-wal", "-shm"]) fs.chmodSync(`${copy}${suffix}`, 0o644);
      const { logger, lines } = captureLogger();
      const journal = Journal.open(copy, logger);
      try {
        expect(journal.kv.get("challenge-salt:1")).to.equal("0xsecret");
        for (const suffix of ["", "-wal", "-shm"]) expect(modeOf(`${copy}${suffix}`), suffix).to.equal(0o600);
        expect(lines.filter((l) => l.includes("tightened permissions"))).to.have.length(3);
      } finally {
        journal.close();
      }
    });

    it("leaves a dir that is already private alone, without a log line", function () {
      const dir = path.join(tempDir(), "quiet");
      fs.mkdirSync(dir, { mode: 0o700 });
      const { logger, text } = captureLogger();
      ensurePrivateDir(dir, logger);
      expect(modeOf(dir)).to.equal(0o700);
      expect(text()).to.equal("");
    });

    it("tightens a readable keystore and password file before loading the key", async function () {
      const dir = tempDir();
      const keystorePath = path.join(dir, "key.json");
      const passwordFile = path.join(dir, "password");
      const wallet = Wallet.createRandom();
      await writeKeystore({ privateKey: wallet.privateKey, password: "pw-123", path: keystorePath, scryptN: 1024 });
      expect(modeOf(keystorePath)).to.equal(0o600);
      fs.writeFileSync(passwordFile, "pw-123\n", { mode: 0o644 });
      fs.chmodSync(keystorePath, 0o644);
      const { logger, text } = captureLogger();
      const signer = await loadSigner({ env: {}, keystorePath, passwordFile, logger });
      expect(signer.address).to.equal(wallet.address);
      expect(modeOf(keystorePath)).to.equal(0o600);
      expect(modeOf(passwordFile)).to.equal(0o600);
      expect(text()).to.contain("tightened permissions").and.to.contain("key.json").and.to.contain("password");
    });
  });
});
