import { expect } from "chai";
import hre from "hardhat";
import { startRpcProxy } from "../../../verifier/chain/rpc-proxy";
import type { RpcProxy } from "../../../verifier/chain/rpc-proxy";
import { headNumber, rpc } from "./helpers";

async function post(url: string, body: unknown, timeoutMs = 2_000): Promise<{ status: number; json?: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, json: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined };
}

const call = (method: string, params: unknown[] = [], id = 1) => ({ jsonrpc: "2.0", id, method, params });

describe("chain/rpc-proxy", function () {
  let proxy: RpcProxy;
  beforeEach(async function () {
    proxy = await startRpcProxy({ upstream: hre.network.provider });
  });
  afterEach(async function () {
    await proxy.close();
  });

  it("forwards single and batch requests and records them", async function () {
    await rpc("evm_mine");
    const head = await headNumber();
    const single = await post(proxy.url, call("eth_blockNumber"));
    expect(single.json).to.deep.equal({ jsonrpc: "2.0", id: 1, result: "0x" + head.toString(16) });
    const batch = await post(proxy.url, [call("eth_chainId", [], 7), call("eth_blockNumber", [], 8)]);
    expect(batch.json).to.deep.equal([
      { jsonrpc: "2.0", id: 7, result: "0x7a69" },
      { jsonrpc: "2.0", id: 8, result: "0x" + head.toString(16) },
    ]);
    expect(proxy.count("eth_blockNumber")).to.equal(2);
  });

  it("passes upstream errors through as JSON-RPC errors", async function () {
    const res = await post(proxy.url, call("no_such_method"));
    expect((res.json as { error: { code: number } }).error.code).to.be.a("number");
  });

  it("rejects malformed bodies with a JSON-RPC parse error", async function () {
    const res = await fetch(proxy.url, { method: "POST", body: "{nope" });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).to.equal(-32700);
  });

  describe("when a fault is set", function () {
    it("injects JSON-RPC errors for the selected methods only, `times` times", async function () {
      proxy.setFault({ fault: { kind: "error", code: -32005, message: "limit exceeded" }, methods: ["eth_chainId"], times: 1 });
      const first = await post(proxy.url, call("eth_chainId"));
      expect(first.json).to.deep.equal({ jsonrpc: "2.0", id: 1, error: { code: -32005, message: "limit exceeded" } });
      expect(((await post(proxy.url, call("eth_blockNumber"))).json as { result: string }).result).to.match(/^0x/);
      expect(((await post(proxy.url, call("eth_chainId"))).json as { result: string }).result).to.equal("0x7a69");
    });

    it("with forward, the request reaches upstream but the answer is lost", async function () {
      const before = await headNumber();
      proxy.setFault({ fault: { kind: "error", forward: true }, methods: ["evm_mine"] });
      const res = await post(proxy.url, call("evm_mine"));
      expect((res.json as { error: { message: string } }).error.message).to.equal("injected fault");
      expect(await headNumber()).to.equal(before + 1);
    });

    it("answers with an HTTP status", async function () {
      proxy.setFault({ fault: { kind: "http", status: 503 } });
      expect((await post(proxy.url, call("eth_chainId"))).status).to.equal(503);
    });

    it("drops the connection", async function () {
      proxy.setFault({ fault: { kind: "drop" } });
      let caught: unknown;
      try {
        await post(proxy.url, call("eth_chainId"));
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(Error);
    });

    it("hangs until the client gives up", async function () {
      proxy.setFault({ fault: { kind: "hang" } });
      let caught: unknown;
      const t0 = Date.now();
      try {
        await post(proxy.url, call("eth_chainId"), 200);
      } catch (err) {
        caught = err;
      }
      expect((caught as Error).name).to.equal("TimeoutError");
      expect(Date.now() - t0).to.be.at.least(190);
    });

    it("answers head queries with a stale block, other queries unchanged", async function () {
      await rpc("hardhat_mine", ["0x3"]);
      const head = await headNumber();
      proxy.setFault({ fault: { kind: "stale", blockNumber: head - 2 } });
      expect(((await post(proxy.url, call("eth_blockNumber"))).json as { result: string }).result).to.equal("0x" + (head - 2).toString(16));
      const latest = (await post(proxy.url, call("eth_getBlockByNumber", ["latest", false]))).json as {
        result: { number: string };
      };
      expect(Number(latest.result.number)).to.equal(head - 2);
      const exact = (await post(proxy.url, call("eth_getBlockByNumber", ["0x" + head.toString(16), false]))).json as {
        result: { number: string };
      };
      expect(Number(exact.result.number)).to.equal(head);
      proxy.clearFaults();
      expect(((await post(proxy.url, call("eth_blockNumber"))).json as { result: string }).result).to.equal("0x" + head.toString(16));
    });

    it("applies a `match` predicate", async function () {
      proxy.setFault({
        fault: { kind: "error", message: "too many" },
        methods: ["eth_getBlockByNumber"],
        match: (_m, params) => params[0] === "0x0",
      });
      expect(((await post(proxy.url, call("eth_getBlockByNumber", ["0x0", false]))).json as { error?: unknown }).error).to.exist;
      expect(((await post(proxy.url, call("eth_getBlockByNumber", ["0x1", false]))).json as { error?: unknown }).error).to.equal(undefined);
    });
  });
});
