/**
 * Amounts with units and deadlines for humans (chain/format.ts, pure), and the token metadata
 * cache (chain/tokenInfo.ts) against real tokens on the in-process network.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import pino from "pino";
import { amountFields, formatAmount, formatDeadline, relativeTime } from "../../../verifier/chain/format";
import { TokenInfoCache } from "../../../verifier/chain/tokenInfo";
import { createProvider, type Eip1193Provider } from "../../../verifier/chain/rpc";

describe("chain/format", function () {
  it("formats base units with the token's decimals and symbol, exactly", function () {
    expect(formatAmount(100n * 10n ** 18n, { symbol: "UPAY", decimals: 18 })).to.equal("100 UPAY");
    expect(formatAmount(15n * 10n ** 17n, { symbol: "USTK", decimals: 18 })).to.equal("1.5 USTK");
    expect(formatAmount(1n, { symbol: "USTK", decimals: 18 })).to.equal("0.000000000000000001 USTK");
    expect(formatAmount(1_234_567n, { symbol: "USDC", decimals: 6 })).to.equal("1.234567 USDC");
    expect(formatAmount(0n, { symbol: "X", decimals: 0 })).to.equal("0 X");
  });

  it("log fields keep the raw base units beside the readable amount", function () {
    expect(amountFields("reward", 10n ** 20n, { symbol: "PAY", decimals: 18 })).to.deep.equal({
      reward: "100 PAY",
      rewardRaw: "100000000000000000000",
    });
  });

  it("relative times: largest unit, rounded down, future and past", function () {
    expect(relativeTime(1_000 + 180, 1_000)).to.equal("in 3 min");
    expect(relativeTime(1_000 + 59, 1_000)).to.equal("in 59 s");
    expect(relativeTime(1_000 - 7_300, 1_000)).to.equal("2 h ago");
    expect(relativeTime(1_000, 1_000)).to.equal("now");
    expect(relativeTime(1_000 + 2 * 86_400 + 5, 1_000)).to.equal("in 2 d");
    expect(formatDeadline(1_000 + 180, 1_000)).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in 3 min\)$/);
  });
});

describe("chain/tokenInfo", function () {
  it("reads symbol and decimals once per token; a contract without them gets a short address, 18 decimals", async function () {
    const token = await ethers.deployContract("TestToken", ["uPoW Pay", "UPAY"]);
    const [, someone] = await ethers.getSigners();
    let calls = 0;
    const counting: Eip1193Provider = {
      request: (args) => {
        if (args.method === "eth_call") calls++;
        return (hre.network.provider as unknown as Eip1193Provider).request(args);
      },
    };
    const provider = createProvider({ eip1193: counting, logger: pino({ level: "silent" }) });
    try {
      const cache = new TokenInfoCache(provider);
      const addr = await token.getAddress();
      expect(await cache.format(addr, 25n * 10n ** 17n)).to.equal("2.5 UPAY");
      const after = calls;
      expect(after).to.equal(2);
      expect(await cache.fields("bond", addr.toLowerCase(), 10n ** 18n)).to.deep.equal({ bond: "1 UPAY", bondRaw: "1000000000000000000" });
      expect(calls, "cached: no second read, whatever the address case").to.equal(after);

      // A contract without symbol()/decimals() (the randomness probe has neither) and an account without code.
      const noMeta = await ethers.deployContract("PrevrandaoProbe");
      const info = await cache.info(await noMeta.getAddress());
      expect(info.decimals).to.equal(18);
      expect(info.symbol).to.match(/^0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4}$/);
      expect((await cache.info(someone.address)).symbol).to.equal(`${someone.address.slice(0, 6)}…${someone.address.slice(-4)}`);
    } finally {
      provider.destroy();
    }
  });

  it("a symbol that could spoof an amount or a log line (spaces, newlines, escapes, too long) is not shown", async function () {
    const provider = createProvider({ eip1193: hre.network.provider as unknown as Eip1193Provider, logger: pino({ level: "silent" }) });
    try {
      const cache = new TokenInfoCache(provider);
      for (const symbol of ["1000000 UPAY", 'UPAY\n{"msg":"credits withdrawn"}', "\u001b[32mUPAY", "A".repeat(17), ""]) {
        const t = await ethers.deployContract("TestToken", ["spoof", symbol]);
        const addr = await t.getAddress();
        expect(await cache.format(addr, 10n ** 18n), JSON.stringify(symbol)).to.equal(`1 ${addr.slice(0, 6)}…${addr.slice(-4)}`);
      }
    } finally {
      provider.destroy();
    }
  });

  it("a transient RPC failure is not cached: the next read gets the real symbol", async function () {
    const token = await ethers.deployContract("TestToken", ["uPoW Stake", "USTK"]);
    // A node's own error on eth_call (no revert data; ethers calls it CALL_EXCEPTION too), then a
    // transport failure (no JSON-RPC answer at all).
    let failure: "node" | "transport" | null = "node";
    const flaky: Eip1193Provider = {
      request: (args) => {
        if (failure === "node" && args.method === "eth_call")
          return Promise.reject(Object.assign(new Error("rate limited"), { code: -32005 }));
        if (failure === "transport" && args.method === "eth_call") return Promise.reject(new Error("ECONNRESET"));
        return (hre.network.provider as unknown as Eip1193Provider).request(args);
      },
    };
    const provider = createProvider({ eip1193: flaky, logger: pino({ level: "silent" }), retries: 0 });
    try {
      const cache = new TokenInfoCache(provider);
      const addr = await token.getAddress();
      for (const f of ["node", "transport"] as const) {
        failure = f;
        let failed = false;
        await cache.info(addr).catch(() => (failed = true));
        expect(failed, `${f} failure propagates instead of a fallback symbol`).to.equal(true);
        // A log line never fails on it: raw units this time.
        expect(await cache.fields("amount", addr, 5n)).to.deep.equal({ amount: "5 base units", amountRaw: "5" });
      }
      failure = null;
      expect((await cache.info(addr)).symbol).to.equal("USTK");
    } finally {
      provider.destroy();
    }
  });
});
