/**
 * One CLI shape for both daemons (issue 15): flag > env > config file > default for every shared
 * option, TOML and JSON config files, errors naming the file and the key, --deployments on both,
 * --confirmations auto, the key by name, and the default data dir named after the key's address.
 */
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { expect } from "chai";
import { getAddress, Wallet } from "ethers";
import { parseConfirmations, resolveConfirmations, ConfirmationsError } from "../../../verifier/chain/confirmations";
import { KeyLoadError, writeKeystore } from "../../../verifier/chain/keys";
import { DeploymentInvalidError } from "../../../verifier/chain/registry";
import { defaultDataDir, stateDir } from "../../../verifier/chain/stateDir";
import { ConfigFileError } from "../../../verifier/cli/configFile";
import { createDaemonLogger } from "../../../verifier/cli/logger";
import { VerifierConfigError } from "../../../verifier/daemon/errors";
import type { VerifierConfig } from "../../../verifier/daemon/config";
import { WorkerConfigError, type WorkerConfig } from "../../../verifier/worker/config";
import { parseVerifierStart, parseWorkerStart, tempDir, testKey, withEnv, writeDeployment, type TestKey } from "./helpers";

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("daemon CLI: one shape for both daemons", function () {
  let dir: string;
  let key: TestKey;
  let dep: ReturnType<typeof writeDeployment>;
  const TOKEN = "0x00000000000000000000000000000000000000aa";

  before(async function () {
    dir = tempDir();
    key = await testKey(dir);
    dep = writeDeployment(dir);
  });

  // The minimum each daemon needs besides what a test varies; the data dir is given so nothing lands in ~.
  const base = (): string[] => [
    "--deployments",
    dep.file,
    "--rpc-url",
    "http://127.0.0.1:8545",
    "--log-level",
    "silent",
    "--data-dir",
    path.join(dir, "data"),
    ...key.args,
  ];
  type AnyConfig = VerifierConfig | WorkerConfig;
  const daemons: { name: "verifier" | "worker"; parse: (a: string[]) => Promise<AnyConfig> }[] = [
    { name: "verifier", parse: (a) => parseVerifierStart([...base(), ...a]) },
    { name: "worker", parse: (a) => parseWorkerStart([...base(), "--accept-token", TOKEN, ...a]) },
  ];

  for (const d of daemons) {
    describe(`${d.name} start`, function () {
      it("precedence: a flag beats the env, the env beats the config file, the file beats the default", async function () {
        const toml = path.join(dir, `${d.name}-prec.toml`);
        fs.writeFileSync(toml, 'pollInterval = 3000\nconfirmations = "5"\nmetricsHost = "10.0.0.1"\n');
        await withEnv({}, async () => {
          const def = await d.parse([]);
          expect([def.pollIntervalMs, def.confirmations, def.metricsHost]).to.deep.equal([2000, "auto", "127.0.0.1"]);
          const file = await d.parse(["--config", toml]);
          expect([file.pollIntervalMs, file.confirmations, file.metricsHost]).to.deep.equal([3000, 5, "10.0.0.1"]);
        });
        await withEnv({ UPOW_POLL_INTERVAL: "4000", UPOW_CONFIRMATIONS: "auto" }, async () => {
          const env = await d.parse(["--config", toml]);
          expect([env.pollIntervalMs, env.confirmations, env.metricsHost]).to.deep.equal([4000, "auto", "10.0.0.1"]);
          const flag = await d.parse(["--config", toml, "--poll-interval", "5000", "--confirmations", "1"]);
          expect([flag.pollIntervalMs, flag.confirmations]).to.deep.equal([5000, 1]);
        });
        // --config itself may come from the env.
        await withEnv({ UPOW_CONFIG: toml }, async () => expect((await d.parse([])).pollIntervalMs).to.equal(3000));
      });

      it("reads a JSON config file too: lists, numbers, switches", async function () {
        const json = path.join(dir, `${d.name}.json`);
        fs.writeFileSync(
          json,
          JSON.stringify({
            rpcUrl: ["http://a.example:8545", "http://b.example:8545"],
            pollInterval: 750,
            dryRun: true,
            allowPrivateArtifacts: true,
          }),
        );
        const c = await withEnv({}, () => d.parse(["--config", json]));
        // A flag replaces the file's list, never merges with it.
        expect(c.rpcUrls).to.deep.equal(["http://127.0.0.1:8545"]);
        expect([c.pollIntervalMs, c.dryRun, c.allowPrivateArtifacts]).to.deep.equal([750, true, true]);
        const noFlagUrl = path.join(dir, `${d.name}-urls.toml`);
        fs.writeFileSync(noFlagUrl, 'rpcUrl = ["http://a.example:8545", "http://b.example:8545"]\n');
        const args: Promise<AnyConfig> =
          d.name === "verifier"
            ? parseVerifierStart([
                "--deployments",
                dep.file,
                "--log-level",
                "silent",
                "--data-dir",
                dir,
                ...key.args,
                "--config",
                noFlagUrl,
              ])
            : parseWorkerStart([
                "--deployments",
                dep.file,
                "--log-level",
                "silent",
                "--data-dir",
                dir,
                ...key.args,
                "--accept-token",
                TOKEN,
                "--config",
                noFlagUrl,
              ]);
        expect((await withEnv({}, () => args)).rpcUrls).to.deep.equal(["http://a.example:8545", "http://b.example:8545"]);
      });

      it("a bad config file is an error naming the file and the key", async function () {
        const cases: [string, string, RegExp][] = [
          ["unknown.toml", "pollIntervalMs = 10\n", /unknown\.toml: key "pollIntervalMs" is not an option/],
          ["badvalue.toml", 'pollInterval = "fast"\n', /badvalue\.toml: key "pollInterval" is invalid/],
          ["badconf.toml", 'confirmations = "often"\n', /badconf\.toml: key "confirmations" is invalid/],
          ["notbool.json", '{"dryRun": "yes"}', /notbool\.json: key "dryRun" must be true or false/],
          ["list.toml", 'dataDir = ["a", "b"]\n', /list\.toml: key "dataDir" takes one value/],
          ["choice.toml", 'logFormat = "xml"\n', /choice\.toml: key "logFormat" must be one of auto, pretty, json/],
          ["syntax.toml", "pollInterval = = 3\n", /syntax\.toml is not valid TOML/],
          ["syntax.json", "{ pollInterval: 3 }", /syntax\.json is not valid JSON/],
          ["array.json", "[1]", /array\.json must hold a table/],
          ["config.yaml", "pollInterval: 3\n", /config\.yaml must end in \.toml or \.json/],
        ];
        for (const [name, text, re] of cases) {
          const file = path.join(dir, `${d.name}-${name}`);
          fs.writeFileSync(file, text);
          const e = await withEnv({}, () => rejection(d.parse(["--config", file])));
          expect(e, name).to.be.instanceOf(ConfigFileError);
          expect(e.message, name).to.match(re);
        }
        const e = await withEnv({}, () => rejection(d.parse(["--config", path.join(dir, "missing.toml")])));
        expect(e.message).to.match(/cannot read config file .*missing\.toml/);
      });

      it("--deployments gives the contract addresses and the start block; explicit flags override the file", async function () {
        const c = dep.deployment.contracts;
        const got = await withEnv({}, () => d.parse([]));
        expect(got.jobMarket).to.equal(c.JobMarket.address);
        expect(got.disputeManager).to.equal(c.DisputeManager.address);
        // The start block is the first deploy block of the registry (writeDeployment: 7).
        expect(got.startBlock).to.equal(7);
        const other = Wallet.createRandom().address;
        const over = await withEnv({ UPOW_START_BLOCK: "3" }, () => d.parse(["--job-market", other]));
        expect([over.jobMarket, over.startBlock]).to.deep.equal([other, 3]);
        if (d.name === "verifier") expect((got as { auditManager?: string }).auditManager).to.equal(c.AuditManager.address);
        else expect((got as { stakeManager?: string }).stakeManager).to.equal(c.StakeManager.address);
      });

      it("a deployments file that is not a registry is refused by name", async function () {
        const bad = path.join(dir, `${d.name}-bad-deployments.json`);
        fs.writeFileSync(bad, JSON.stringify({ JobMarket: { address: TOKEN } }));
        const e = await withEnv({}, () => rejection(d.parse(["--deployments", bad])));
        expect(e.message).to.match(/bad-deployments\.json: format must be "upow-deployment\/1"/);
      });

      it("UPOW_RPC_URLS (comma-separated) and the old UPOW_RPC_URL both name the endpoints; UPOW_RPC_URLS wins", async function () {
        const args =
          d.name === "verifier"
            ? (extra: string[]): Promise<AnyConfig> =>
                parseVerifierStart(["--deployments", dep.file, "--log-level", "silent", "--data-dir", dir, ...key.args, ...extra])
            : (extra: string[]) =>
                parseWorkerStart([
                  "--deployments",
                  dep.file,
                  "--log-level",
                  "silent",
                  "--data-dir",
                  dir,
                  ...key.args,
                  "--accept-token",
                  TOKEN,
                  ...extra,
                ]);
        expect((await withEnv({ UPOW_RPC_URLS: "http://a:1,http://b:2" }, () => args([]))).rpcUrls).to.deep.equal([
          "http://a:1",
          "http://b:2",
        ]);
        expect((await withEnv({ UPOW_RPC_URL: "http://old:1" }, () => args([]))).rpcUrls).to.deep.equal(["http://old:1"]);
        expect((await withEnv({ UPOW_RPC_URL: "http://old:1", UPOW_RPC_URLS: "http://new:1" }, () => args([]))).rpcUrls).to.deep.equal([
          "http://new:1",
        ]);
        const none = await withEnv({}, () => rejection(args([])));
        expect(none.message).to.match(/RPC/);
      });

      it("without --deployments or --job-market the error says which to give", async function () {
        const e = await withEnv({}, () =>
          rejection(
            d.name === "verifier"
              ? parseVerifierStart(["--rpc-url", "http://x:1", "--log-level", "silent", ...key.args])
              : parseWorkerStart(["--rpc-url", "http://x:1", "--log-level", "silent", "--accept-token", TOKEN, ...key.args]),
          ),
        );
        expect(e).to.be.instanceOf(d.name === "verifier" ? VerifierConfigError : WorkerConfigError);
        expect(e.message).to.match(/--deployments/);
      });
    });
  }

  describe("worker --accept-token <token key> (read from --deployments by the registry's loader)", function () {
    const common = (): string[] => [
      "--rpc-url",
      "http://127.0.0.1:8545",
      "--log-level",
      "silent",
      "--data-dir",
      path.join(dir, "data"),
      ...key.args,
    ];

    it("PaymentToken[:min] and StakingToken are the deployments file's addresses; an address still works beside them", async function () {
      const c = dep.deployment.contracts;
      const got = await withEnv({}, () =>
        parseWorkerStart(["--deployments", dep.file, ...common(), "--accept-token", "PaymentToken:500", "StakingToken", TOKEN]),
      );
      expect(got.acceptedTokens).to.deep.equal([
        { address: c.PaymentToken!.address, minRewardPerTflop: 500n },
        { address: c.StakingToken.address, minRewardPerTflop: 0n },
        { address: getAddress(TOKEN), minRewardPerTflop: 0n },
      ]);
    });

    it("UPOW_DEPLOYMENTS names the file as --deployments does (the README's worker command)", async function () {
      const got = await withEnv({ UPOW_DEPLOYMENTS: dep.file, UPOW_ACCEPT_TOKENS: "PaymentToken" }, () => parseWorkerStart(common()));
      expect(got.acceptedTokens.map((t) => t.address)).to.deep.equal([dep.deployment.contracts.PaymentToken!.address]);
    });

    it("a token key without a deployments file is refused, naming --deployments", async function () {
      const e = await withEnv({}, () =>
        rejection(parseWorkerStart(["--job-market", TOKEN, ...common(), "--accept-token", "PaymentToken"])),
      );
      expect(e).to.be.instanceOf(WorkerConfigError);
      expect((e as WorkerConfigError).shortMessage).to.equal(
        "--accept-token PaymentToken names a token of the deployments file: give --deployments <file>",
      );
    });

    it("a deployments file without a PaymentToken: the error names the file and contracts.PaymentToken", async function () {
      const { PaymentToken: _omitted, ...rest } = dep.deployment.contracts;
      const noPay = path.join(dir, "no-payment-token.json");
      fs.writeFileSync(noPay, JSON.stringify({ ...dep.deployment, contracts: rest }));
      const e = await withEnv({}, () =>
        rejection(parseWorkerStart(["--deployments", noPay, ...common(), "--accept-token", "PaymentToken"])),
      );
      expect(e).to.be.instanceOf(DeploymentInvalidError);
      expect((e as DeploymentInvalidError).shortMessage).to.equal(`${noPay}: contracts.PaymentToken is missing`);
    });

    it("a contract key that is not a token, or a misspelt one, is refused like any non-address", async function () {
      for (const bad of ["JobMarket", "paymenttoken", "PaymentToken2"]) {
        const e = await withEnv({}, () => rejection(parseWorkerStart(["--deployments", dep.file, ...common(), "--accept-token", bad])));
        expect(e, bad).to.be.instanceOf(WorkerConfigError);
        expect(e.message).to.match(/^--accept-token needs <address\|PaymentToken\|StakingToken>/);
      }
    });
  });

  it("verifier: a --no-x switch is `x = false` in the file, and --appeal is `appeal = true`", async function () {
    const toml = path.join(dir, "switches.toml");
    fs.writeFileSync(toml, "challenge = false\nkeepRandomness = false\nappeal = true\n");
    const c = await withEnv({}, () => parseVerifierStart([...base(), "--config", toml]));
    expect([c.challenge, c.keepRandomness, c.appeal, c.audit]).to.deep.equal([false, false, true, true]);
    // The env still beats the file for a switch.
    fs.writeFileSync(toml, "audit = true\n");
    const e = await withEnv({ UPOW_NO_AUDIT: "1" }, () => parseVerifierStart([...base(), "--config", toml]));
    expect(e.audit).to.equal(false);
  });

  describe("keys and the default data dir", function () {
    it("--key <name> loads <key dir>/<name>.json; the default data dir is <state dir>/<role>-<address>, different for two keys", async function () {
      const home = tempDir("upow-home-");
      const keyDir = path.join(home, "keys");
      fs.mkdirSync(keyDir, { mode: 0o700 });
      const a = Wallet.createRandom();
      const b = Wallet.createRandom();
      await writeKeystore({ privateKey: a.privateKey, password: "pw", path: path.join(keyDir, "verifier-a.json"), scryptN: 1024 });
      await writeKeystore({ privateKey: b.privateKey, password: "pw", path: path.join(keyDir, "verifier-b.json"), scryptN: 1024 });
      const common = ["--deployments", dep.file, "--rpc-url", "http://127.0.0.1:8545", "--log-level", "silent"];
      await withEnv({ UPOW_HOME: home, UPOW_KEYSTORE_PASSWORD: "pw" }, async () => {
        const va = await parseVerifierStart([...common, "--key", "verifier-a"]);
        const vb = await parseVerifierStart([...common, "--key", "verifier-b"]);
        expect(va.signer?.address).to.equal(a.address);
        expect(vb.signer?.address).to.equal(b.address);
        expect(va.dataDir).to.equal(path.join(home, `verifier-${a.address}`));
        expect(vb.dataDir).to.equal(path.join(home, `verifier-${b.address}`));
        expect(va.dataDir).to.not.equal(vb.dataDir);
        // The same key as a worker gets a dir of its own role.
        const w = await parseWorkerStart([...common, "--key", "verifier-a", "--accept-token", TOKEN]);
        expect(w.dataDir).to.equal(path.join(home, `worker-${a.address}`));
        // --data-dir overrides.
        expect((await parseVerifierStart([...common, "--key", "verifier-a", "--data-dir", path.join(home, "mine")])).dataDir).to.equal(
          path.join(home, "mine"),
        );
      });
      // UPOW_KEY_DIR moves the key dir away from the state dir.
      await withEnv({ UPOW_HOME: tempDir("upow-elsewhere-"), UPOW_KEY_DIR: keyDir, UPOW_KEYSTORE_PASSWORD: "pw" }, async () => {
        expect((await parseVerifierStart([...common, "--key", "verifier-b"])).signer?.address).to.equal(b.address);
      });
    });

    it("state dir: UPOW_HOME, else $XDG_STATE_HOME/upow, else ~/.local/state/upow", function () {
      expect(stateDir({ UPOW_HOME: "/srv/upow", XDG_STATE_HOME: "/x" })).to.equal("/srv/upow");
      expect(stateDir({ XDG_STATE_HOME: "/var/lib/me" })).to.equal("/var/lib/me/upow");
      // A relative XDG_STATE_HOME is invalid by the spec and ignored.
      expect(stateDir({ XDG_STATE_HOME: "rel" })).to.match(/\.local\/state\/upow$/);
      expect(defaultDataDir("worker", key.address.toLowerCase(), { UPOW_HOME: "/h" })).to.equal(`/h/worker-${key.address}`);
    });

    it("refuses two keys at once: a stray UPOW_PRIVATE_KEY never signs in place of the named keystore", async function () {
      const stray = Wallet.createRandom().privateKey;
      const e = await withEnv({ UPOW_PRIVATE_KEY: stray }, () => rejection(parseVerifierStart(base())));
      expect(e).to.be.instanceOf(KeyLoadError);
      expect(e.message).to.match(/UPOW_PRIVATE_KEY is set and a keystore is named/);
      expect(e.message + String(e.stack)).to.not.contain(stray.slice(2));
      const both = await withEnv({}, () => rejection(parseVerifierStart([...base(), "--key", "k"])));
      expect(both.message).to.match(/--key or --keystore, not both/);
    });

    it("UPOW_PRIVATE_KEY alone still works; an unknown key name or a path-like name is refused by name", async function () {
      const w = Wallet.createRandom();
      const common = ["--deployments", dep.file, "--rpc-url", "http://127.0.0.1:8545", "--log-level", "silent", "--data-dir", dir];
      const c = await withEnv({ UPOW_PRIVATE_KEY: w.privateKey }, () => parseVerifierStart(common));
      expect(c.signer?.address).to.equal(w.address);
      const missing = await withEnv({ UPOW_KEY_DIR: dir }, () => rejection(parseVerifierStart([...common, "--key", "nobody"])));
      expect(missing.message).to.match(/no key named nobody/);
      const traversal = await withEnv({ UPOW_KEY_DIR: dir }, () => rejection(parseVerifierStart([...common, "--key", "../k"])));
      expect(traversal).to.be.instanceOf(KeyLoadError);
      expect(traversal.message).to.match(/key name/);
      const none = await withEnv({}, () => rejection(parseVerifierStart(common)));
      expect(none.message).to.match(/no key configured: give --key/);
    });

    it("a bad option fails before the key is unlocked (no password asked for a config that cannot run)", async function () {
      // No password anywhere: an unlock attempt would fail with KeyLoadError instead.
      const keyNoPw = ["--keystore", key.keystore];
      const e = await withEnv({}, () =>
        rejection(parseWorkerStart(["--deployments", dep.file, "--rpc-url", "http://x:1", "--log-level", "silent", ...keyNoPw])),
      );
      expect(e).to.be.instanceOf(WorkerConfigError);
      expect(e.message).to.match(/accepted payment token/);
    });
  });

  describe("--confirmations <n|auto>", function () {
    it("auto is 0 on local dev chains (31337, 1337) and 2 elsewhere; numbers pass through", function () {
      expect(resolveConfirmations("auto", 31337n)).to.equal(0);
      expect(resolveConfirmations("auto", 1337n)).to.equal(0);
      expect(resolveConfirmations("auto", 1n)).to.equal(2);
      expect(resolveConfirmations("auto", 11155111n)).to.equal(2);
      expect(resolveConfirmations(5, 31337n)).to.equal(5);
      expect(parseConfirmations("auto")).to.equal("auto");
      expect(parseConfirmations("0")).to.equal(0);
      for (const bad of ["-1", "1.5", "", "AUTO", "2x"]) expect(() => parseConfirmations(bad), bad).to.throw(ConfirmationsError);
    });
  });

  describe("logs", function () {
    const capture = () => {
      let text = "";
      const destination = new Writable({
        write(chunk: Buffer, _e, cb) {
          text += chunk.toString("utf8");
          cb();
        },
      });
      return { destination, text: () => text };
    };

    it("JSON lines when not on a terminal, pretty on a terminal, --log-format forces either", function () {
      const cases = [
        { format: "auto", isTTY: false, json: true },
        { format: "auto", isTTY: true, json: false },
        { format: "pretty", isTTY: false, json: false },
        { format: "json", isTTY: true, json: true },
      ] as const;
      for (const c of cases) {
        const out = capture();
        createDaemonLogger({ level: "info", format: c.format, isTTY: c.isTTY, destination: out.destination }).info(
          { jobId: "7" },
          "job claimed",
        );
        const line = out.text().trim();
        const parsed = (() => {
          try {
            return JSON.parse(line) as { msg?: string; jobId?: string };
          } catch {
            return undefined;
          }
        })();
        expect(parsed !== undefined, JSON.stringify(c)).to.equal(c.json);
        if (parsed) expect([parsed.msg, parsed.jobId]).to.deep.equal(["job claimed", "7"]);
        // eslint-disable-next-line no-control-regex
        else
          expect(line.replace(/\u001b\[[0-9;]*m/g, ""))
            .to.match(/INFO.*job claimed/)
            .and.to.match(/jobId: "7"/);
      }
    });
  });
});
