/**
 * The worker daemon's Prometheus metrics: the shared daemon scheme (chain/metrics.ts: prefix
 * `upow_`, label `role="worker"`, head and failure metrics) plus the worker's own counters.
 */
import type { Counter } from "prom-client";
import { counter, createDaemonMetrics, type CreateDaemonMetricsParameters, type DaemonMetrics } from "../chain/metrics";

export interface WorkerMetrics extends DaemonMetrics {
  stepsTrained: Counter;
  jobsClaimed: Counter;
  jobsSubmitted: Counter;
  jobsFinalized: Counter;
  /** Disputed intervals whose states were served. */
  disputesAnswered: Counter;
  chunkAnswers: Counter;
}

export function createWorkerMetrics(params: Partial<Omit<CreateDaemonMetricsParameters, "role">> = {}): WorkerMetrics {
  const base = createDaemonMetrics({ ...params, role: "worker" });
  const { registry } = base;
  return {
    ...base,
    stepsTrained: counter(registry, "steps_trained_total", "Training steps run (a resumed run counts its steps again)"),
    jobsClaimed: counter(registry, "jobs_claimed_total", "Jobs claimed"),
    jobsSubmitted: counter(registry, "jobs_submitted_total", "Results submitted"),
    jobsFinalized: counter(registry, "jobs_finalized_total", "Jobs seen finalized (paid)"),
    disputesAnswered: counter(registry, "disputes_answered_total", "Disputed intervals whose states were served"),
    chunkAnswers: counter(registry, "chunk_answers_total", "Chunk challenges answered on chain"),
  };
}
