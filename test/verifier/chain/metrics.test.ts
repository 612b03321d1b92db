import { expect } from "chai";
import { createMetrics, MetricsError, startMetricsServer } from "../../../verifier/chain/metrics";

describe("chain/metrics", function () {
  it("serves the shared metrics on /metrics and health on /healthz", async function () {
    const m = createMetrics({ defaultLabels: { role: "verifier" } });
    m.jobsSeen.inc(3);
    m.txsSent.inc({ purpose: "vote-commit" });
    m.txsFailed.inc({ purpose: "vote-commit", reason: "reverted" });
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
      expect(body).to.contain('upow_txs_failed_total{purpose="vote-commit",reason="reverted",role="verifier"} 1');
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

  it("registries are independent, and a bad prefix is rejected", function () {
    const a = createMetrics();
    const b = createMetrics();
    a.jobsSeen.inc();
    expect(a.registry).to.not.equal(b.registry);
    expect(() => createMetrics({ prefix: "bad-prefix" })).to.throw(MetricsError);
  });
});
