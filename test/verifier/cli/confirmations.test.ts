/**
 * `--confirmations auto` on the in-process Hardhat chain (chainId 31337, automining: no block
 * comes after the one a daemon waits for unless someone sends a transaction): both daemons read
 * at the head itself, so they never wait for a block that will not come.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import pino from "pino";
import type { Eip1193Provider } from "../../../verifier/chain/rpc";
import type { Tick } from "../../../verifier/daemon/player/context";
import { workerConfig } from "../../../verifier/worker/config";
import { runWorker } from "../../../verifier/worker/service";
import { deploySystem } from "../../helpers/system";
import {
  accountKey,
  CHALLENGER_ACCOUNT,
  startVerifier,
  stop,
  verifierConfig,
  waitFor,
  WORKER_ACCOUNT,
  type Running,
} from "../daemon/harness";

describe("--confirmations auto on the in-process Hardhat chain (31337)", function () {
  this.timeout(180_000);
  let running: Running | undefined;
  afterEach(async function () {
    await stop(running);
    running = undefined;
  });

  it("the verifier reads at the head (0 confirmations): its ticks reach the last block without a later one", async function () {
    const sys = await loadFixture(deploySystem);
    expect((await ethers.provider.getNetwork()).chainId).to.equal(31337n);
    let last: Tick | undefined;
    const dir = await mkdtemp(path.join(tmpdir(), "upow-conf-"));
    running = startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { confirmations: "auto" }), { onTick: (t) => (last = t) });
    // No miner runs: only the head itself can be reached.
    await waitFor("a tick at the head", async () => last !== undefined && last.block === (await ethers.provider.getBlockNumber()));
  });

  it("…while an explicit --confirmations 2 stays two blocks behind the same head", async function () {
    const sys = await loadFixture(deploySystem);
    let last: Tick | undefined;
    const dir = await mkdtemp(path.join(tmpdir(), "upow-conf-"));
    running = startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir, { confirmations: 2 }), { onTick: (t) => (last = t) });
    await waitFor("a tick", async () => last !== undefined);
    await new Promise((r) => setTimeout(r, 500));
    expect(last!.block).to.equal((await ethers.provider.getBlockNumber()) - 2);
  });

  it("the worker resolves auto to 0 on this chain (and says so when it starts)", async function () {
    const sys = await loadFixture(deploySystem);
    const lines: string[] = [];
    const logger = pino(
      { level: "info" },
      new Writable({
        write(c: Buffer, _e, cb) {
          lines.push(c.toString("utf8"));
          cb();
        },
      }),
    );
    const dir = await mkdtemp(path.join(tmpdir(), "upow-conf-"));
    const config = workerConfig({
      eip1193: network.provider as unknown as Eip1193Provider,
      env: { UPOW_PRIVATE_KEY: accountKey(WORKER_ACCOUNT) },
      dataDir: dir,
      jobMarket: await sys.jobMarket.getAddress(),
      acceptedTokens: [{ address: await sys.payToken.getAddress(), minRewardPerTflop: 0n }],
      pollIntervalMs: 50,
    });
    expect(config.confirmations).to.equal("auto");
    const ac = new AbortController();
    running = { ac, done: runWorker(config, { signal: ac.signal, logger }) };
    const started = await waitFor("worker started", async () =>
      lines.map((l) => JSON.parse(l) as { msg: string; confirmations?: number }).find((l) => l.msg === "worker started"),
    );
    expect(started.confirmations).to.equal(0);
  });
});
