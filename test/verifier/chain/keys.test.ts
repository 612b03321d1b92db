import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { Wallet } from "ethers";
import { KeyLoadError, loadSigner, writeKeystore } from "../../../verifier/chain/keys";
import { captureLogger, tempDir } from "./helpers";

describe("chain/keys loadSigner", function () {
  const wallet = Wallet.createRandom();
  const key = wallet.privateKey;
  const bare = key.slice(2);

  function assertNoKey(text: string): void {
    expect(text.toLowerCase()).to.not.contain(bare.toLowerCase());
  }

  it("loads from the env var (with or without 0x) and logs only the address", async function () {
    for (const value of [key, bare]) {
      const { logger, text } = captureLogger();
      const signer = await loadSigner({ env: { UPOW_PRIVATE_KEY: value }, logger });
      expect(signer.address).to.equal(wallet.address);
      expect(text()).to.contain(wallet.address);
      assertNoKey(text());
    }
  });

  it("rejects a malformed key without echoing it", async function () {
    const { logger, text } = captureLogger();
    const almost = key.slice(0, -1) + "z";
    let caught: unknown;
    try {
      await loadSigner({ env: { MY_KEY: almost }, privateKeyEnv: "MY_KEY", logger });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(KeyLoadError);
    const e = caught as KeyLoadError;
    expect(e.message).to.contain("MY_KEY");
    assertNoKey(e.message + String(e.stack) + text());
  });

  it("rejects an out-of-range key (zero)", async function () {
    const { logger } = captureLogger();
    let caught: unknown;
    try {
      await loadSigner({ env: { UPOW_PRIVATE_KEY: "0x" + "0".repeat(64) }, logger });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(KeyLoadError);
  });

  describe("with a keystore file", function () {
    let dir: string;
    let file: string;
    before(async function () {
      dir = tempDir();
      file = path.join(dir, "key.json");
      const address = await writeKeystore({ privateKey: key, password: "pw-123", path: file, scryptN: 1024 });
      expect(address).to.equal(wallet.address);
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    });

    it("round-trips with the password from the env", async function () {
      const { logger, text } = captureLogger();
      const signer = await loadSigner({ env: { UPOW_KEYSTORE_PASSWORD: "pw-123" }, keystorePath: file, logger });
      expect(signer.address).to.equal(wallet.address);
      expect(signer.privateKey).to.equal(key);
      assertNoKey(text());
      expect(text()).to.not.contain("pw-123");
    });

    it("round-trips with the password from a file (trailing newline ignored)", async function () {
      const pwFile = path.join(dir, "pw");
      fs.writeFileSync(pwFile, "pw-123\n");
      const signer = await loadSigner({ env: {}, keystorePath: file, passwordFile: pwFile, logger: captureLogger().logger });
      expect(signer.address).to.equal(wallet.address);
    });

    it("a wrong password is a KeyLoadError that leaks nothing", async function () {
      const { logger, text } = captureLogger();
      let caught: unknown;
      try {
        await loadSigner({ env: { UPOW_KEYSTORE_PASSWORD: "wrong" }, keystorePath: file, logger });
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(KeyLoadError);
      expect((caught as Error).message).to.match(/cannot decrypt/);
      assertNoKey((caught as Error).message + text());
    });

    it("a missing password or file is a KeyLoadError", async function () {
      const { logger } = captureLogger();
      for (const params of [
        { env: {}, keystorePath: file },
        { env: { UPOW_KEYSTORE_PASSWORD: "x" }, keystorePath: path.join(dir, "nope.json") },
        { env: {}, keystorePath: file, passwordFile: path.join(dir, "nope") },
        { env: {} },
      ]) {
        let caught: unknown;
        try {
          await loadSigner({ ...params, logger });
        } catch (err) {
          caught = err;
        }
        expect(caught, JSON.stringify(params)).to.be.instanceOf(KeyLoadError);
      }
    });
  });
});
