import { expect } from "chai";
import { buildInfo, createMetrics, startMetricsServer } from "../../../verifier/chain/metrics";
import { createWorkerMetrics } from "../../../verifier/worker/metrics";

describe("chain/metrics", function () {
  it("serves the shared metrics on /metrics and health on /healthz", async function () {
    const m = createMetrics();
    m.jobsSeen.inc(3);
    m.txsSent.inc({ purpose: "vote-commit" });
    m.txFailures.inc({ purpose: "vote-commit", reason: "DisputeManagerWrongPhase" });
    m.replaySeconds.observe(0.3);
    let healthy = true;
    const server = await startMetricsServer({
      registry: m.registry,
      health: () => ({ ok: healthy, details: { head: 12 } }),
    });
    try {
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).to.equal(200);
      expect(res.headers.get("content-type")).to.contain("text/plain");
      const body = await res.text();
      expect(body).to.contain('upow_jobs_seen_total{role="verifier"} 3');
      expect(body).to.contain('upow_txs_sent_total{purpose="vote-commit",role="verifier"} 1');
      expect(body).to.contain('upow_tx_failures_total{purpose="vote-commit",reason="DisputeManagerWrongPhase",role="verifier"} 1');
      expect(body).to.contain('upow_replay_seconds_bucket{le="0.5",role="verifier"} 1');
      for (const name of [
        "audits_run_total",
        "disputes_opened_total",
        "disputes_won_total",
        "disputes_lost_total",
        "votes_committed_total",
        "votes_revealed_total",
        "rpc_errors_total",
      ]) {
        expect(body).to.contain(`# TYPE upow_${name} counter`);
      }

      const ok = await fetch(`${server.url}/healthz`);
      expect(ok.status).to.equal(200);
      expect(await ok.json()).to.deep.equal({ ok: true, details: { head: 12 } });
      healthy = false;
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(503);
      expect((await fetch(`${server.url}/nope`)).status).to.equal(404);
    } finally {
      await server.close();
    }
  });

  it("a throwing health check is reported as unhealthy, not a crash", async function () {
    const m = createMetrics();
    const server = await startMetricsServer({
      registry: m.registry,
      health: () => {
        throw new Error("rpc down");
      },
    });
    try {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).to.equal(503);
      expect(((await res.json()) as { details: { error: string } }).details.error).to.equal("rpc down");
    } finally {
      await server.close();
    }
  });

  it("registries are independent", function () {
    const a = createMetrics();
    const b = createMetrics();
    a.jobsSeen.inc();
    expect(a.registry).to.not.equal(b.registry);
  });

  it("one scheme for both daemons: upow_ prefix, role label, process_* unprefixed, build info, head block and age", async function () {
    let now = 1_000_000_000_000;
    const v = createMetrics({ clock: () => now });
    const w = createWorkerMetrics({ clock: () => now });
    w.setHead({ block: 41, timestamp: now / 1000 - 7 });
    w.txFailures.inc({ purpose: "claim", reason: "ERC20InsufficientBalance" });
    const { version, commit } = buildInfo();
    expect(version).to.match(/^\d+\.\d+\.\d+/);
    for (const [m, role] of [
      [v, "verifier"],
      [w, "worker"],
    ] as const) {
      const body = await m.registry.metrics();
      expect(body).to.contain(`upow_build_info{version="${version}",commit="${commit}",role="${role}"} 1`);
      expect(body).to.match(new RegExp(`^process_cpu_seconds_total\\{role="${role}"\\} `, "m"));
      expect(body).to.match(/^nodejs_heap_size_total_bytes\{/m);
      expect(body).not.to.match(/upow_process_|upow_worker_/);
      expect(body).to.contain("# TYPE upow_tx_failures_total counter");
    }
    const body = await w.registry.metrics();
    expect(body).to.contain('upow_steps_trained_total{role="worker"} 0');
    expect(body).to.contain('upow_chain_head_block{role="worker"} 41');
    expect(body).to.contain('upow_chain_head_age_seconds{role="worker"} 7');
    expect(body).to.contain('upow_tx_failures_total{purpose="claim",reason="ERC20InsufficientBalance",role="worker"} 1');
    now += 60_000; // computed when scraped: a stalled daemon's head ages
    expect(await w.registry.metrics()).to.contain('upow_chain_head_age_seconds{role="worker"} 67');
  });
});
