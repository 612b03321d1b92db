/**
 * The runtime both daemons share (verifier/runtime/ and chain/eventRouter.ts), on the in-process
 * Hardhat network with the real journal, TxSender and contracts: events reach their handler by
 * name, typed actions are encoded and sent once, the bond approval happens once, and a
 * DaemonRuntime holds its lock, ticks, serves /healthz and tears down on abort.
 */
import { expect } from "chai";
import hre from "hardhat";
import { MaxUint256, Wallet, type Log } from "ethers";
import type { ChainTestTarget, TestToken } from "../../../typechain-types";
import { EventRouter } from "../../../verifier/chain/eventRouter";
import { InstanceLockedError } from "../../../verifier/chain/instance-lock";
import { Journal } from "../../../verifier/chain/journal";
import { createDaemonMetrics } from "../../../verifier/chain/metrics";
import type { UPowProvider } from "../../../verifier/chain/rpc";
import { TxSender } from "../../../verifier/chain/tx-sender";
import { DaemonRuntime, type RuntimeConfig } from "../../../verifier/runtime/daemonRuntime";
import { contractCall, Responder } from "../../../verifier/runtime/responder";
import { captureLogger, deployTarget, fundedWallet, inProcessProvider, tempDir } from "../chain/helpers";
import path from "node:path";

describe("runtime: event router, responder, daemon runtime", function () {
  this.timeout(60_000);
  let target: ChainTestTarget;
  let token: TestToken;

  before(async function () {
    target = await deployTarget();
    token = (await (await hre.ethers.getContractFactory("TestToken")).deploy("Test", "TST")) as unknown as TestToken;
    await token.waitForDeployment();
  });

  describe("EventRouter", function () {
    it("hands each routed event its named, typed arguments and ignores the events it does not route", async function () {
      const [signer] = await hre.ethers.getSigners();
      const at = await target.getAddress();
      const connected = target.connect(signer!) as ChainTestTarget;
      const seen: { seq: bigint; value: bigint; sender: string; block: number }[] = [];
      const router = new EventRouter().on(target, target.getEvent("Poked"), (a, log) => {
        seen.push({ seq: a.seq, value: a.value, sender: a.sender, block: log.blockNumber });
      });
      expect(router.filter()).to.deep.equal({ address: [at.toLowerCase()], topics: [[target.getEvent("Poked").fragment.topicHash]] });
      const r1 = await (await connected.poke(41n)).wait();
      const r2 = await (await connected.setFailing(false)).wait(); // FailingSet: not routed
      const logs: Log[] = [...r1!.logs, ...r2!.logs];
      expect(logs.length).to.equal(2);
      for (const l of logs) await router.handle(l);
      expect(seen).to.have.length(1);
      expect(seen[0]!.value).to.equal(41n);
      expect(seen[0]!.sender).to.equal(signer!.address);
      expect(seen[0]!.block).to.equal(r1!.blockNumber);
    });

    it("refuses one event routed twice on one contract, naming it", function () {
      const router = new EventRouter().on(target, target.getEvent("Poked"), () => undefined);
      expect(() => router.on(target, target.getEvent("Poked"), () => undefined)).to.throw(/already routed/);
    });
  });

  describe("Responder", function () {
    let provider: UPowProvider;
    let journal: Journal;
    let wallet: Wallet;
    let sender: TxSender;
    let responder: Responder;
    const log = captureLogger();

    beforeEach(async function () {
      provider = inProcessProvider(log.logger);
      journal = Journal.open(path.join(tempDir(), "journal.sqlite"));
      wallet = await fundedWallet(provider);
      sender = await TxSender.create({
        signer: wallet,
        provider,
        journal,
        logger: log.logger,
        pollIntervalMs: 25,
        errorInterfaces: [target.interface],
      });
      responder = new Responder(sender, log.logger);
    });

    afterEach(function () {
      sender.close();
      journal.close();
      provider.destroy();
    });

    it("encodes a typed action, sends it once per key, and reports a reverting one as skipped with the decoded reason", async function () {
      const t = target.connect(provider) as ChainTestTarget;
      const first = await responder.respond(contractCall(t, "poke", [7n], { key: "poke:1", purpose: "poke" }));
      expect(first.kind).to.equal("sent");
      const seq = await t.seq();
      const again = await responder.respond(contractCall(t, "poke", [7n], { key: "poke:1", purpose: "poke" }));
      expect(again.kind === "sent" && again.result.kind === "mined" && again.result.reused).to.equal(true);
      expect(await t.seq()).to.equal(seq); // not sent a second time
      const [admin] = await hre.ethers.getSigners();
      await (await (target.connect(admin!) as ChainTestTarget).setFailing(true)).wait();
      try {
        const bad = await responder.respond(contractCall(t, "poke", [8n], { key: "poke:2", purpose: "poke" }));
        expect(bad.kind).to.equal("skipped");
        expect(bad.kind === "skipped" && bad.reason).to.match(/ChainTestTargetFailing/);
      } finally {
        await (await (target.connect(admin!) as ChainTestTarget).setFailing(false)).wait();
      }
    });

    it("approves a bond once (unlimited), then finds the allowance enough without another transaction", async function () {
      const tk = token.connect(provider) as TestToken;
      const spender = target.connect(provider) as ChainTestTarget;
      expect(await responder.allowBond({ token: tk, owner: wallet.address, spender, amount: 10n })).to.equal(true);
      expect(await tk.allowance(wallet.address, await spender.getAddress())).to.equal(MaxUint256);
      const nonce = await provider.getTransactionCount(wallet.address);
      expect(await responder.allowBond({ token: tk, owner: wallet.address, spender, amount: 10n ** 30n })).to.equal(true);
      expect(await provider.getTransactionCount(wallet.address)).to.equal(nonce);
    });
  });

  describe("DaemonRuntime", function () {
    function config(dataDir: string): RuntimeConfig {
      return {
        dataDir,
        rpcUrls: [],
        eip1193: hre.network.provider,
        signer: Wallet.createRandom(),
        pollIntervalMs: 20,
        confirmations: 0,
        dryRun: false,
        metricsPort: 0,
        metricsHost: "127.0.0.1",
        maxHeadAgeSec: 3_600,
      };
    }

    it("holds the data dir's lock while it runs, ticks with the chain head recorded, serves /healthz, and releases everything on abort", async function () {
      const dir = tempDir("upow-runtime-");
      const ac = new AbortController();
      const { logger } = captureLogger();
      const metrics = createDaemonMetrics({ role: "worker", defaultMetrics: false });
      let ticks = 0;
      let second: unknown;
      let health: { status: number; body: { ok: boolean } } | undefined;
      await DaemonRuntime.run({ config: config(dir), signal: ac.signal, logger, metrics }, async (rt) => {
        // A second daemon on the same dir is refused while this one runs.
        second = await DaemonRuntime.run({ config: config(dir), signal: ac.signal, logger, metrics }, async () => undefined).catch(
          (e: unknown) => e,
        );
        const url = await rt.serveMetrics(() => ({ ticks }));
        await rt.loop(async () => {
          ticks++;
          if (ticks === 3) {
            const res = await fetch(`${url}/healthz`);
            health = { status: res.status, body: (await res.json()) as { ok: boolean } };
            ac.abort();
          }
        });
      });
      expect(second).to.be.instanceOf(InstanceLockedError);
      expect(ticks).to.equal(3);
      expect(metrics.head()?.block).to.equal(await hre.ethers.provider.getBlockNumber());
      expect(health).to.deep.include({ status: 200 });
      expect(health!.body.ok).to.equal(true);
      // Lock released: the next run on the same dir starts (and stops at once: already aborted).
      await DaemonRuntime.run({ config: config(dir), signal: ac.signal, logger, metrics }, (rt) => rt.loop(async () => undefined));
    });
  });
});
