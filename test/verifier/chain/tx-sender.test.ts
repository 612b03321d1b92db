import { expect } from "chai";
import path from "node:path";
import hre from "hardhat";
import { parseUnits } from "ethers";
import type { Wallet } from "ethers";
import type { ChainTestTarget, TestToken } from "../../../typechain-types";
import { Journal } from "../../../verifier/chain/journal";
import { createProvider } from "../../../verifier/chain/rpc";
import type { UPowProvider } from "../../../verifier/chain/rpc";
import { startRpcProxy } from "../../../verifier/chain/rpc-proxy";
import { TxRevertedError, TxSender, TxSenderClosedError, TxSimulationError } from "../../../verifier/chain/tx-sender";
import type { TxEvent, TxSenderParameters } from "../../../verifier/chain/tx-sender";
import { captureLogger, deployTarget, fundedWallet, inProcessProvider, rpc, tempDir, until } from "./helpers";

describe("chain/tx-sender", function () {
  let target: ChainTestTarget;
  let token: TestToken;
  let provider: UPowProvider;
  let journal: Journal;
  let wallet: Wallet;
  let log: ReturnType<typeof captureLogger>;
  let journalPath: string;

  before(async function () {
    target = await deployTarget();
    const factory = await hre.ethers.getContractFactory("TestToken");
    token = (await factory.deploy("Test", "TST")) as unknown as TestToken;
    await token.waitForDeployment();
  });

  beforeEach(async function () {
    log = captureLogger();
    provider = inProcessProvider(log.logger);
    journalPath = path.join(tempDir(), "journal.sqlite");
    journal = Journal.open(journalPath);
    wallet = await fundedWallet(provider);
  });

  afterEach(async function () {
    await rpc("evm_setAutomine", [true]);
    journal.close();
    provider.destroy();
  });

  function sender(extra: Partial<TxSenderParameters> = {}): Promise<TxSender> {
    return TxSender.create({
      signer: wallet,
      provider,
      journal,
      logger: log.logger,
      pollIntervalMs: 25,
      errorInterfaces: [target.interface],
      ...extra,
    });
  }

  const poke = (key: string, value = 1n) => ({
    key,
    purpose: "test-poke",
    to: target.target as string,
    data: target.interface.encodeFunctionData("poke", [value]),
  });
  const mint = (key: string, to: string, amount: bigint) => ({
    key,
    purpose: "test-mint",
    to: token.target as string,
    data: token.interface.encodeFunctionData("mint", [to, amount]),
  });

  describe("when the call succeeds", function () {
    it("simulates, sends, waits, journals; the same key is never sent again", async function () {
      const events: TxEvent[] = [];
      const s = await sender({ onTxEvent: (e) => events.push(e) });
      const result = await s.send(poke("poke:1", 42n));
      if (result.kind !== "mined") throw new Error("expected mined");
      expect(result).to.include({ key: "poke:1", purpose: "test-poke", nonce: 0, reused: false });
      const receipt = await provider.getTransactionReceipt(result.hash);
      expect(receipt?.status).to.equal(1);
      const parsed = target.interface.parseLog(receipt!.logs[0]);
      expect(parsed?.args.value).to.equal(42n);
      expect(journal.getIntent("poke:1")).to.include({ state: "mined", status: 1, txHash: result.hash, nonce: 0 });
      expect(events.map((e) => e.type)).to.deep.equal(["sent", "mined"]);

      const again = await s.send(poke("poke:1", 42n));
      expect(again).to.include({ reused: true, hash: result.hash });
      expect(await provider.getTransactionCount(wallet.address)).to.equal(1);

      // Purpose tag in every log line of this intent.
      const lines = log.lines.map((l) => JSON.parse(l) as { key?: string; purpose?: string });
      expect(lines.length).to.be.greaterThan(1);
      for (const l of lines) expect(l).to.include({ purpose: "test-poke", key: "poke:1" });
    });

    it("sends concurrent intents with consecutive nonces", async function () {
      const s = await sender();
      const results = await Promise.all([s.send(poke("c:1")), s.send(poke("c:2")), s.send(poke("c:3"))]);
      const nonces = results.map((r) => (r.kind === "mined" ? r.nonce : -1)).sort();
      expect(nonces).to.deep.equal([0, 1, 2]);
      expect(s.nextNonce).to.equal(3);
      expect(journal.getNextNonce(wallet.address)).to.equal(3);
    });

    it("starts from the chain's pending nonce when the account was used elsewhere", async function () {
      await (await wallet.sendTransaction({ to: wallet.address, value: 1n })).wait();
      const s = await sender();
      expect(s.nextNonce).to.equal(1);
      const r = await s.send(poke("after-external"));
      expect(r.kind === "mined" && r.nonce).to.equal(1);
    });

    it("dryRun simulates and sends nothing", async function () {
      const s = await sender({ dryRun: true });
      const r = await s.send(poke("dry"));
      expect(r.kind).to.equal("dry-run");
      if (r.kind === "dry-run") expect(r.gasLimit).to.equal((r.gasEstimate * 120n) / 100n);
      expect(await provider.getTransactionCount(wallet.address, "pending")).to.equal(0);
      expect(journal.getIntent("dry")).to.equal(undefined);
      expect(log.text()).to.contain("dry run");
    });
  });

  describe("when the simulation reverts", function () {
    it("gives TxSimulationError with the decoded custom error, sends nothing, marks failed", async function () {
      const [admin] = await hre.ethers.getSigners();
      await (await target.connect(admin).setFailing(true)).wait();
      try {
        const s = await sender();
        let caught: unknown;
        try {
          await s.send(poke("fail:1", 7n));
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(TxSimulationError);
        const e = caught as TxSimulationError;
        expect(e.revert.name).to.equal("ChainTestTargetFailing");
        expect(e.revert.args).to.deep.equal([7n]);
        expect(journal.getIntent("fail:1")).to.include({ state: "failed", failure: "simulation: ChainTestTargetFailing(7)" });
        expect(await provider.getTransactionCount(wallet.address, "pending")).to.equal(0);
      } finally {
        await (await target.connect(admin).setFailing(false)).wait();
      }
    });

    it("decodes Error(string)", async function () {
      const s = await sender();
      let caught: unknown;
      try {
        await s.send({
          key: "r",
          purpose: "p",
          to: target.target as string,
          data: target.interface.encodeFunctionData("failWithReason", ["boom"]),
        });
      } catch (err) {
        caught = err;
      }
      expect((caught as TxSimulationError).revert).to.include({ name: "Error", reason: "boom" });
    });
  });

  describe("when the mined transaction reverts", function () {
    it("gives TxRevertedError with the reason, and the recorded error on a repeat", async function () {
      const [admin] = await hre.ethers.getSigners();
      const s = await sender();
      await rpc("evm_setAutomine", [false]);
      const pending = s.send(poke("rev:1", 9n));
      pending.catch(() => undefined);
      await until(() => journal.getIntent("rev:1")?.state === "sent", 5_000, "sent");
      // Front-run it within the same block with a higher tip.
      await target.connect(admin).setFailing(true, {
        maxPriorityFeePerGas: parseUnits("50", "gwei"),
        maxFeePerGas: parseUnits("100", "gwei"),
      });
      await rpc("evm_mine");
      let caught: unknown;
      try {
        await pending;
      } catch (err) {
        caught = err;
      }
      await rpc("evm_setAutomine", [true]);
      await (await target.connect(admin).setFailing(false)).wait();
      expect(caught).to.be.instanceOf(TxRevertedError);
      const e = caught as TxRevertedError;
      expect(e.revert.reason).to.equal("ChainTestTargetFailing(9)");
      expect((await provider.getTransactionReceipt(e.hash))?.status).to.equal(0);
      expect(journal.getIntent("rev:1")).to.include({ state: "mined", status: 0 });

      let again: unknown;
      try {
        await s.send(poke("rev:1", 9n));
      } catch (err) {
        again = err;
      }
      expect(again).to.be.instanceOf(TxRevertedError);
      expect((again as TxRevertedError).hash).to.equal(e.hash);
    });
  });

  describe("when the transaction is stuck", function () {
    it("replaces it with the same nonce and ≥ 12.5% higher fees, up to the cap", async function () {
      const s = await sender({ stuckTimeoutMs: 100 });
      await rpc("evm_setAutomine", [false]);
      const pending = s.send(poke("stuck:1"));
      pending.catch(() => undefined);
      await until(() => journal.attempts("stuck:1").length >= 3, 10_000, "two bumps");
      await rpc("evm_mine");
      const result = await pending;
      const attempts = journal.attempts("stuck:1");
      expect(new Set(attempts.map((a) => a.nonce))).to.deep.equal(new Set([0]));
      for (let i = 1; i < attempts.length; i++) {
        expect(attempts[i].maxFeePerGas * 1000n).to.be.at.least(attempts[i - 1].maxFeePerGas * 1125n);
        expect(attempts[i].maxPriorityFeePerGas * 1000n).to.be.at.least(attempts[i - 1].maxPriorityFeePerGas * 1125n);
      }
      if (result.kind !== "mined") throw new Error("expected mined");
      // The node keeps only the latest replacement it accepted; under load one more bump may be
      // journaled after the mine, so the mined one is any journaled attempt, not necessarily the last.
      expect(attempts.map((a) => a.hash)).to.include(result.hash);
      expect(result.hash).to.not.equal(attempts[0].hash);
      expect(await provider.getTransactionCount(wallet.address)).to.equal(1);
      expect(log.text()).to.contain("fee bump");
    });

    it("stops bumping at maxFeePerGasCap", async function () {
      const fee = await provider.getFeeData();
      const cap = (fee.maxFeePerGas! * 13n) / 10n; // room for about two bumps
      const s = await sender({ stuckTimeoutMs: 50, maxFeePerGasCap: cap });
      await rpc("evm_setAutomine", [false]);
      const pending = s.send(poke("cap:1"));
      pending.catch(() => undefined);
      await until(() => log.text().includes("at the fee cap"), 10_000, "cap");
      const attempts = journal.attempts("cap:1");
      for (const a of attempts) expect(a.maxFeePerGas <= cap).to.equal(true);
      await rpc("evm_mine");
      expect((await pending).kind).to.equal("mined");
    });
  });

  describe("when the process crashes after journaling", function () {
    it("the broadcast never arrived: the new sender rebroadcasts the stored tx, once", async function () {
      const proxy = await startRpcProxy({ upstream: hre.network.provider });
      const viaProxy = createProvider({ urls: [proxy.url], retries: 0, logger: log.logger });
      try {
        proxy.setFault({ fault: { kind: "error", message: "injected: lost" }, methods: ["eth_sendRawTransaction"] });
        const s1 = await TxSender.create({
          signer: wallet.connect(viaProxy),
          provider: viaProxy,
          journal,
          logger: log.logger,
          pollIntervalMs: 25,
        });
        const recipient = hre.ethers.Wallet.createRandom().address;
        const pending = s1.send(mint("mint:1", recipient, 1000n));
        await until(() => journal.getIntent("mint:1")?.state === "sent", 5_000, "sent");
        await until(() => proxy.count("eth_sendRawTransaction") >= 1, 5_000, "broadcast try");
        s1.close(); // the "crash"
        let closed: unknown;
        try {
          await pending;
        } catch (err) {
          closed = err;
        }
        expect(closed).to.be.instanceOf(TxSenderClosedError);
        const journaled = journal.getIntent("mint:1")!;
        expect(journal.attempts("mint:1")[0].rawTx).to.match(/^0x02/);
        expect(await provider.getTransactionCount(wallet.address, "pending")).to.equal(0);

        proxy.clearFaults();
        journal.close();
        journal = Journal.open(journalPath); // as after a restart
        const s2 = new TxSender({ signer: wallet, provider, journal, logger: log.logger, pollIntervalMs: 25 });
        const report = await s2.start();
        expect(report.rebroadcast).to.deep.equal(["mint:1"]);
        const result = await s2.send(mint("mint:1", recipient, 1000n));
        if (result.kind !== "mined") throw new Error("expected mined");
        expect(result.hash).to.equal(journaled.txHash);
        expect(result.nonce).to.equal(0);
        expect(await token.balanceOf(recipient)).to.equal(1000n);
        expect(await provider.getTransactionCount(wallet.address)).to.equal(1);
        expect(s2.nextNonce).to.equal(1);

        const next = await s2.send(mint("mint:2", recipient, 1n));
        expect(next.kind === "mined" && next.nonce).to.equal(1);
        expect(await token.balanceOf(recipient)).to.equal(1001n);
      } finally {
        viaProxy.destroy();
        await proxy.close();
      }
    });

    it("the broadcast arrived but its answer was lost: reconcile finds the receipt and never resends", async function () {
      const proxy = await startRpcProxy({ upstream: hre.network.provider });
      const viaProxy = createProvider({ urls: [proxy.url], retries: 0, logger: log.logger });
      try {
        await rpc("evm_setAutomine", [false]);
        proxy.setFault({
          fault: { kind: "error", forward: true, message: "injected: lost answer" },
          methods: ["eth_sendRawTransaction"],
          times: 1,
        });
        const s1 = await TxSender.create({
          signer: wallet.connect(viaProxy),
          provider: viaProxy,
          journal,
          logger: log.logger,
          pollIntervalMs: 25,
        });
        const recipient = hre.ethers.Wallet.createRandom().address;
        const pending = s1.send(mint("mint:lost", recipient, 5n));
        pending.catch(() => undefined);
        await until(() => proxy.count("eth_sendRawTransaction") >= 1, 5_000, "broadcast");
        s1.close();
        await rpc("evm_mine");
        await rpc("evm_setAutomine", [true]);

        const s2 = new TxSender({ signer: wallet, provider, journal, logger: log.logger, pollIntervalMs: 25 });
        const report = await s2.start();
        expect(report.mined).to.deep.equal(["mint:lost"]);
        expect(report.rebroadcast).to.deep.equal([]);
        const again = await s2.send(mint("mint:lost", recipient, 5n));
        expect(again).to.include({ kind: "mined", reused: true, nonce: 0 });
        expect(await token.balanceOf(recipient)).to.equal(5n);
        expect(await provider.getTransactionCount(wallet.address, "pending")).to.equal(1);
        expect(s2.nextNonce).to.equal(1);
      } finally {
        viaProxy.destroy();
        await proxy.close();
      }
    });
  });
});
