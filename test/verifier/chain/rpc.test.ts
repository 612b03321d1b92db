import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import hre from "hardhat";
import { createProvider, RpcConfigError, RpcUnavailableError, redactUrl } from "../../../verifier/chain/rpc";
import type { RpcErrorInfo } from "../../../verifier/chain/rpc";
import { startRpcProxy } from "../../../verifier/chain/rpc-proxy";
import type { RpcProxy } from "../../../verifier/chain/rpc-proxy";
import { captureLogger, headNumber } from "./helpers";

describe("chain/rpc createProvider", function () {
  let a: RpcProxy;
  let b: RpcProxy;

  beforeEach(async function () {
    a = await startRpcProxy({ upstream: hre.network.provider });
    b = await startRpcProxy({ upstream: hre.network.provider });
  });
  afterEach(async function () {
    await a.close();
    await b.close();
  });

  it("answers through the in-process EIP-1193 provider", async function () {
    const provider = createProvider({ eip1193: hre.network.provider, logger: captureLogger().logger });
    try {
      expect(await provider.getBlockNumber()).to.equal(await headNumber());
      expect((await provider.getNetwork()).chainId).to.equal(31337n);
    } finally {
      provider.destroy();
    }
  });

  describe("when the first URL is down", function () {
    for (const fault of [{ kind: "http", status: 503 }, { kind: "drop" }] as const) {
      it(`falls back to the second URL (${fault.kind})`, async function () {
        a.setFault({ fault });
        const errors: RpcErrorInfo[] = [];
        const { logger, text } = captureLogger();
        const provider = createProvider({ urls: [a.url, b.url], retries: 0, logger, onRpcError: (e) => errors.push(e) });
        try {
          expect(await provider.getBlockNumber()).to.equal(await headNumber());
          expect(b.count("eth_blockNumber")).to.be.greaterThan(0);
          expect(errors.length).to.be.greaterThan(0);
          expect(errors[0].endpoint).to.equal(`0:${redactUrl(a.url)}`);
          expect(text()).to.contain("rpc endpoint failed");
          // Sticky: after a success on b, the next request goes to b first.
          const before = a.requests.length;
          await provider.getBlockNumber();
          expect(a.requests.length).to.equal(before);
        } finally {
          provider.destroy();
        }
      });
    }

    it("a closed port (connection refused) also falls back", async function () {
      const dead = http.createServer();
      await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((r) => dead.close(() => r()));
      const provider = createProvider({ urls: [`http://127.0.0.1:${port}`, b.url], retries: 0, logger: captureLogger().logger });
      try {
        expect(await provider.getBlockNumber()).to.equal(await headNumber());
      } finally {
        provider.destroy();
      }
    });
  });

  describe("when an endpoint hangs", function () {
    it("times out per request and uses the next endpoint", async function () {
      a.setFault({ fault: { kind: "hang" } });
      const provider = createProvider({ urls: [a.url, b.url], timeoutMs: 150, retries: 0, logger: captureLogger().logger });
      try {
        const t0 = Date.now();
        expect(await provider.getBlockNumber()).to.equal(await headNumber());
        const elapsed = Date.now() - t0;
        expect(elapsed).to.be.at.least(140).and.below(2_000);
      } finally {
        provider.destroy();
      }
    });

    it("gives RpcUnavailableError after every endpoint and retry failed, with backoff", async function () {
      a.setFault({ fault: { kind: "hang" } });
      b.setFault({ fault: { kind: "http", status: 502 } });
      const errors: RpcErrorInfo[] = [];
      const provider = createProvider({
        urls: [a.url, b.url],
        timeoutMs: 100,
        retries: 2,
        backoffMs: 50,
        logger: captureLogger().logger,
        onRpcError: (e) => errors.push(e),
        chainId: 31337,
      });
      try {
        const t0 = Date.now();
        let caught: unknown;
        try {
          await provider.getBlockNumber();
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(RpcUnavailableError);
        expect(errors.map((e) => e.error.name)).to.include.members(["RpcTimeoutError", "RpcTransportError"]);
        expect(errors).to.have.length(6); // 3 rounds × 2 endpoints
        // 3 timeouts of 100 ms + backoff 50 + 100 ms
        expect(Date.now() - t0).to.be.at.least(430);
      } finally {
        provider.destroy();
      }
    });

    it("the EIP-1193 endpoint has a timeout too", async function () {
      const never = { request: () => new Promise<unknown>(() => undefined) };
      const provider = createProvider({ eip1193: never, timeoutMs: 80, retries: 0, logger: captureLogger().logger, chainId: 1 });
      try {
        let caught: unknown;
        try {
          await provider.getBlockNumber();
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(RpcUnavailableError);
      } finally {
        provider.destroy();
      }
    });
  });

  describe("when the node answers with a JSON-RPC error", function () {
    it("does not fall back: the error is an answer", async function () {
      a.setFault({ fault: { kind: "error", code: -32000, message: "header not found" }, methods: ["eth_getBalance"] });
      const provider = createProvider({ urls: [a.url, b.url], retries: 0, logger: captureLogger().logger });
      try {
        let caught: unknown;
        try {
          await provider.getBalance("0x0000000000000000000000000000000000000001");
        } catch (err) {
          caught = err;
        }
        expect(String(caught)).to.contain("header not found");
        expect(b.count("eth_getBalance")).to.equal(0);
      } finally {
        provider.destroy();
      }
    });
  });

  describe("when the configuration is bad", function () {
    it("rejects no endpoints, bad URLs and negative numbers", function () {
      const { logger } = captureLogger();
      expect(() => createProvider({ logger })).to.throw(RpcConfigError);
      expect(() => createProvider({ urls: ["not a url"], logger })).to.throw(RpcConfigError);
      expect(() => createProvider({ urls: ["ftp://x"], logger })).to.throw(RpcConfigError);
      expect(() => createProvider({ urls: ["http://x"], timeoutMs: -1, logger })).to.throw(RpcConfigError);
    });

    it("never logs URL paths (they often hold API keys)", function () {
      expect(redactUrl("https://user:pw@mainnet.example.io/v3/SECRETKEY?x=1")).to.equal("https://mainnet.example.io");
    });
  });
});
