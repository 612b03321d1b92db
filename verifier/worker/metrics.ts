/**
 * The worker daemon's Prometheus metrics, in their own Registry (two daemons in one process, as in
 * the tests, never collide). Served with the chain layer's `/metrics` + `/healthz` server.
 */
import { Counter, Registry } from "prom-client";

export interface WorkerMetrics {
  registry: Registry;
  stepsTrained: Counter;
  jobsClaimed: Counter;
  jobsSubmitted: Counter;
  jobsFinalized: Counter;
  /** Disputed intervals whose states were served. */
  disputesAnswered: Counter;
  chunkAnswers: Counter;
  /** Label `purpose`: the intent's purpose tag; `reason`: reverted | failed. */
  txErrors: Counter<"purpose" | "reason">;
  txsSent: Counter<"purpose">;
}

export function createWorkerMetrics(prefix = "upow_worker_"): WorkerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role: "worker" });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: prefix + name, help, labelNames, registers: [registry] });
  return {
    registry,
    stepsTrained: counter("steps_trained_total", "Training steps run (a resumed run counts its steps again)"),
    jobsClaimed: counter("jobs_claimed_total", "Jobs claimed"),
    jobsSubmitted: counter("jobs_submitted_total", "Results submitted"),
    jobsFinalized: counter("jobs_finalized_total", "Jobs seen finalized (paid)"),
    disputesAnswered: counter("disputes_answered_total", "Disputed intervals whose states were served"),
    chunkAnswers: counter("chunk_answers_total", "Chunk challenges answered on chain"),
    txErrors: counter("tx_errors_total", "Transactions reverted or failed, by purpose", ["purpose", "reason"] as const),
    txsSent: counter("txs_sent_total", "Transactions broadcast, by purpose", ["purpose"] as const),
  };
}
