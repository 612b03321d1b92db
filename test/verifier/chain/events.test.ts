import { expect } from "chai";
import path from "node:path";
import hre from "hardhat";
import type { Log } from "ethers";
import type { ChainTestTarget } from "../../../typechain-types";
import { EventCursor, EventHandlerError, ReorgTooDeepError } from "../../../verifier/chain/events";
import type { EventCursorParameters } from "../../../verifier/chain/events";
import { Journal } from "../../../verifier/chain/journal";
import { createProvider } from "../../../verifier/chain/rpc";
import type { UPowProvider } from "../../../verifier/chain/rpc";
import { startRpcProxy } from "../../../verifier/chain/rpc-proxy";
import type { RpcProxy } from "../../../verifier/chain/rpc-proxy";
import { captureLogger, deployTarget, headNumber, rpc, tempDir } from "./helpers";

describe("chain/events EventCursor", function () {
  let proxy: RpcProxy;
  let provider: UPowProvider;
  let journal: Journal;
  let journalPath: string;
  let target: ChainTestTarget;
  let startBlock: number;
  let log: ReturnType<typeof captureLogger>;

  beforeEach(async function () {
    log = captureLogger();
    proxy = await startRpcProxy({ upstream: hre.network.provider });
    provider = createProvider({ urls: [proxy.url], retries: 0, logger: log.logger, chainId: 31337 });
    journalPath = path.join(tempDir(), "journal.sqlite");
    journal = Journal.open(journalPath);
    target = await deployTarget();
    startBlock = await headNumber();
  });
  afterEach(async function () {
    provider.destroy();
    await proxy.close();
    journal.close();
  });

  /** Seq numbers of delivered Poked logs. */
  function cursor(seen: bigint[], extra: Partial<EventCursorParameters> = {}): EventCursor {
    return new EventCursor({
      provider,
      kv: journal.kv,
      name: "test",
      filter: { address: target.target as string, topics: [target.interface.getEvent("Poked").topicHash] },
      startBlock,
      confirmations: 2,
      chunkSize: 8,
      handler: (l: Log) => {
        seen.push(target.interface.parseLog(l)!.args.seq as bigint);
      },
      logger: log.logger,
      ...extra,
    });
  }

  async function pokes(blocks: number, perBlock = 1): Promise<void> {
    for (let i = 0; i < blocks; i++) {
      if (perBlock === 1) await (await target.poke(i)).wait();
      else await (await target.pokeMany(perBlock, i)).wait();
    }
  }

  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => BigInt(a + i));

  it("backfills in chunks, in order, up to head − confirmations", async function () {
    await pokes(20);
    await pokes(4, 3); // blocks with several logs
    const seen: bigint[] = [];
    const c = cursor(seen);
    const head = await headNumber();
    const before = proxy.count("eth_getLogs");
    const r = await c.poll();
    expect(r.scannedTo).to.equal(head - 2);
    // The last 2 blocks (pokeMany, 3 logs each) are not confirmed yet.
    expect(seen).to.deep.equal(range(1, 26));
    expect(proxy.count("eth_getLogs") - before).to.equal(Math.ceil((head - 2 - startBlock + 1) / 8));
    await rpc("hardhat_mine", ["0x2"]);
    await c.poll();
    expect(seen).to.deep.equal(range(1, 32));
    expect((await c.poll()).delivered).to.equal(0);
  });

  it("shrinks the chunk on 'too many results' errors and still delivers everything", async function () {
    await pokes(12);
    proxy.setFault({
      fault: { kind: "error", code: -32005, message: "query returned more than 10000 results" },
      methods: ["eth_getLogs"],
      match: (_m, params) => {
        const f = params[0] as { fromBlock: string; toBlock: string };
        return Number(f.toBlock) - Number(f.fromBlock) + 1 > 3;
      },
    });
    const seen: bigint[] = [];
    await rpc("hardhat_mine", ["0x2"]);
    await cursor(seen).poll();
    expect(seen).to.deep.equal(range(1, 12));
    expect(log.text()).to.contain("shrinking chunk");
  });

  it("delivers exactly once across a handler failure and a restart", async function () {
    await pokes(10);
    await rpc("hardhat_mine", ["0x2"]);
    const seen: bigint[] = [];
    const failing = cursor(seen, {
      handler: (l: Log) => {
        const seq = target.interface.parseLog(l)!.args.seq as bigint;
        if (seq === 5n) throw new Error("handler down");
        seen.push(seq);
      },
    });
    let caught: unknown;
    try {
      await failing.poll();
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(EventHandlerError);
    expect(seen).to.deep.equal(range(1, 4));
    expect(failing.position().last).to.not.equal(null);

    journal.close();
    journal = Journal.open(journalPath); // restart
    await cursor(seen).poll();
    expect(seen).to.deep.equal(range(1, 10));
  });

  it("never sees a reorg shallower than the confirmation depth", async function () {
    await pokes(2);
    const seen: bigint[] = [];
    const c = cursor(seen, { confirmations: 3 });
    await rpc("hardhat_mine", ["0x3"]);
    await c.poll();
    expect(seen).to.deep.equal([1n, 2n]);

    const snapshot = await rpc("evm_snapshot");
    await (await target.poke(111)).wait(); // seq 3, value 111: will be reorged away
    await rpc("hardhat_mine", ["0x1"]);
    await c.poll(); // 2 blocks deep < 3: not read
    expect(seen).to.deep.equal([1n, 2n]);
    await rpc("evm_revert", [snapshot]);

    await (await target.poke(222)).wait(); // the new seq 3, value 222
    const values: bigint[] = [];
    const c2 = cursor(seen, {
      confirmations: 3,
      handler: (l: Log) => {
        const args = target.interface.parseLog(l)!.args;
        seen.push(args.seq as bigint);
        values.push(args.value as bigint);
      },
    });
    await rpc("hardhat_mine", ["0x3"]);
    await c2.poll();
    expect(seen).to.deep.equal([1n, 2n, 3n]);
    expect(values).to.deep.equal([222n]);
  });

  it("detects a reorg deeper than the confirmation depth", async function () {
    await pokes(1);
    const snapshot = await rpc("evm_snapshot");
    await pokes(3);
    const seen: bigint[] = [];
    const c = cursor(seen, { confirmations: 1 });
    await c.poll();
    await rpc("evm_revert", [snapshot]);
    await (await target.poke(999)).wait();
    await rpc("hardhat_mine", ["0x5"]);
    let caught: unknown;
    try {
      await c.poll();
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(ReorgTooDeepError);
  });

  it("stale head answers never move the cursor backwards nor skip logs", async function () {
    await pokes(6);
    await rpc("hardhat_mine", ["0x2"]);
    const seen: bigint[] = [];
    const c = cursor(seen);
    await c.poll();
    const scanned = c.position().scannedTo;
    expect(seen).to.deep.equal(range(1, 6));

    await pokes(6); // seq 7..12
    await rpc("hardhat_mine", ["0x2"]);
    // Far behind: nothing to do, and the cursor stays.
    proxy.setFault({ fault: { kind: "stale", blockNumber: scanned - 4 } });
    const r = await c.poll();
    expect(r).to.include({ delivered: 0, scannedTo: scanned });
    expect(c.position().scannedTo).to.equal(scanned);
    // Somewhat behind: reads only up to the stale head − confirmations.
    proxy.setFault({ fault: { kind: "stale", blockNumber: scanned + 2 + 3 } });
    await c.poll();
    expect(c.position().scannedTo).to.equal(scanned + 3);
    expect(seen).to.deep.equal(range(1, 7)); // seq 7 is in block scanned + 3

    // Fresh again: the rest, each once.
    proxy.clearFaults();
    await c.poll();
    expect(seen).to.deep.equal(range(1, 12));
  });

  it("stops (without moving) when the node lacks the range end", async function () {
    await pokes(3);
    await rpc("hardhat_mine", ["0x2"]);
    const seen: bigint[] = [];
    const c = cursor(seen);
    // A node that reports a head it cannot serve: eth_blockNumber ahead of its blocks.
    proxy.setFault({ fault: { kind: "stale", blockNumber: (await headNumber()) + 50 }, methods: ["eth_blockNumber"] });
    const r = await c.poll();
    expect(r.delivered).to.equal(0);
    expect(c.position().scannedTo).to.equal(startBlock - 1);
    expect(log.text()).to.contain("node lacks the range end");
    proxy.clearFaults();
    await c.poll();
    expect(seen).to.deep.equal(range(1, 3));
  });
});
