/**
 * Operator-facing behaviour of the verifier daemon on the in-process Hardhat network, with a real
 * worker: stale reverts are dropped after one try, persistent failures back off and turn /healthz
 * red (and green again once fixed), and /healthz follows the head's age.
 */
import { expect } from "chai";
import path from "node:path";
import { network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Eip1193Provider } from "../../../verifier/chain/rpc";
import { deploySystem } from "../../helpers/system";
import { CHALLENGER_ACCOUNT, daemonTestBed, startVerifier, startWorker, stop, verifierConfig, waitFor } from "./harness";

const SUBMITTED = 3n;

/** The in-process chain, counting the requests that go through it. */
function countingProvider(): { eip1193: Eip1193Provider; calls: { method: string; data?: string }[] } {
  const calls: { method: string; data?: string }[] = [];
  const upstream = network.provider as unknown as Eip1193Provider;
  return {
    calls,
    eip1193: {
      request(args: { method: string; params?: unknown[] | Record<string, unknown> }) {
        const p0 = Array.isArray(args.params) ? (args.params[0] as { data?: string; input?: string } | undefined) : undefined;
        calls.push({ method: args.method, data: typeof p0 === "object" && p0 !== null ? (p0.data ?? p0.input) : undefined });
        return upstream.request(args);
      },
    } as Eip1193Provider,
  };
}

interface Health {
  ok: boolean;
  details: { causes?: string[] };
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as Health };
}

describe("verifier daemon: failures, back-off and /healthz (in-process network, real worker)", function () {
  this.timeout(300_000);
  const bed = daemonTestBed("upow-ops-");
  const { miner, running } = bed;

  it("a stale revert (someone else finalized) is re-simulated on a doubling schedule, not on every tick", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys);
    const worker = await startWorker(sys, path.join(bed.tmp, "stale-worker"));
    running.push(worker);
    await waitFor("submitted", async () => (await sys.jobMarket.getJob(jobId)).status === SUBMITTED, 240_000);
    await stop(worker);
    running.splice(running.indexOf(worker), 1);

    // Window over in block B1; the requester finalizes in B2. No block follows: a daemon reading
    // one block behind the head sees a Submitted job past its window on every tick, and wants to finalize.
    await time.increaseTo((await sys.jobMarket.getJob(jobId)).windowEnd + 1n);
    await (await sys.jobMarket.connect(sys.requester).finalize(jobId)).wait();
    const finalize = sys.jobMarket.interface.getFunction("finalize")!.selector;

    const { eip1193, calls } = countingProvider();
    let ticks = 0;
    running.push(
      startVerifier(
        await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "stale-verifier"), {
          eip1193,
          audit: false,
          challenge: false,
          confirmations: 1,
        }),
        {
          onTick: () => ticks++,
        },
      ),
    );
    await waitFor("30 ticks", async () => ticks >= 30);
    const simulations = calls.filter((c) => (c.method === "eth_call" || c.method === "eth_estimateGas") && c.data?.startsWith(finalize));
    // The first try, then re-checks after holds of 1, 2, 4, 8, 16 polls: at most 6 simulations in
    // 30 ticks (one per tick before).
    expect(simulations.length).to.be.within(1, 6);
    expect(calls.filter((c) => c.method === "eth_sendRawTransaction")).to.have.length(0);
  });

  it("bond money missing: ERC20InsufficientBalance backs off, /healthz 503 names the purpose; funded, it commits and /healthz is 200 again", async function () {
    const sys = await loadFixture(deploySystem);
    // The challenger keeps no staking tokens: its commit bond cannot be pulled.
    const balance = await sys.stakeToken.balanceOf(sys.challenger.address);
    await (await sys.stakeToken.connect(sys.challenger).transfer(sys.admin.address, balance)).wait();
    await bed.requester.post(sys);
    running.push(await startWorker(sys, path.join(bed.tmp, "bond-worker"), { cheat: { kind: "skip", fraction: 1 } }));
    let url = "";
    running.push(
      startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "bond-verifier"), { metricsPort: 0 }), {
        onMetricsServer: (u) => (url = u),
      }),
    );
    miner.start();

    // A loaded machine can answer 503 "no chain head seen yet" before the first poll: wait for the bond's 503.
    const red = await waitFor(
      "/healthz 503 for the commit bond",
      async () => {
        if (!url) return undefined;
        const h = await health(url);
        return h.status === 503 && (h.body.details.causes ?? []).some((c) => c.includes("challenge-commit")) ? h.body : undefined;
      },
      240_000,
    );
    expect(red.details.causes!.join("\n")).to.match(
      /transactions of purpose "challenge-commit" failed [5-9] times in a row: ERC20InsufficientBalance\(/,
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const failed = /upow_tx_failures_total\{purpose="challenge-commit",reason="ERC20InsufficientBalance",role="verifier"\} (\d+)/.exec(
      metrics,
    );
    expect(Number(failed?.[1])).to.be.within(5, 9); // backed off, not one try per 50 ms tick
    expect(
      await sys.disputeManager.queryFilter(sys.disputeManager.filters.ChallengeCommitted(undefined, sys.challenger.address)),
    ).to.have.length(0);

    await (await sys.stakeToken.connect(sys.admin).transfer(sys.challenger.address, balance)).wait();
    await waitFor(
      "challenge committed",
      async () =>
        (await sys.disputeManager.queryFilter(sys.disputeManager.filters.ChallengeCommitted(undefined, sys.challenger.address))).length > 0,
      120_000,
    );
    await waitFor("/healthz 200", async () => (await health(url)).status === 200, 60_000);
  });

  it("/healthz turns 503 when the head is older than --max-head-age, and 200 when it is fresh again", async function () {
    const sys = await loadFixture(deploySystem);
    miner.start();
    // The daemon's clock follows the chain's (time may have been moved by earlier tests), plus a shift.
    const latest = await time.latest();
    const base = latest * 1000 - Date.now();
    let shiftMs = 0;
    let url = "";
    running.push(
      startVerifier(
        await verifierConfig(sys, CHALLENGER_ACCOUNT, path.join(bed.tmp, "head-verifier"), { metricsPort: 0, maxHeadAgeSec: 60 }),
        {
          onMetricsServer: (u) => (url = u),
          clock: () => Date.now() + base + shiftMs,
        },
      ),
    );
    await waitFor("/healthz 200", async () => url !== "" && (await health(url)).status === 200);
    // No more blocks, and the clock re-based on the head: mined blocks run ahead of the wall clock
    // (a timestamp per block), so on a loaded machine a base taken earlier drifts by minutes.
    miner.stop();
    const drift = (await time.latest()) * 1000 - Date.now() - base;
    shiftMs = drift + 10 * 60_000; // ten minutes without a new block, as far as the daemon can tell
    const red = await health(url);
    expect(red.status).to.equal(503);
    expect(red.body.details.causes!.join("\n")).to.match(/chain head is stale: block \d+ is \d+ s old \(max 60 s\)/);
    expect(await (await fetch(`${url}/metrics`)).text()).to.match(/upow_chain_head_age_seconds\{role="verifier"\} (5\d\d|6\d\d)/);
    shiftMs = drift;
    expect((await health(url)).status).to.equal(200);
  });
});
