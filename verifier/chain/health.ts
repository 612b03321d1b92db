import type { Provider } from "ethers";
import type { FailingPurpose } from "./failures";
import type { HealthStatus, HeadSample } from "./metrics";

/**
 * `/healthz` of both daemons: unhealthy when the latest head the daemon saw is older than
 * `--max-head-age` (a stalled chain, or an RPC that stopped answering) or when a transaction
 * purpose keeps failing (failures.ts). The details name each cause.
 */

export interface HealthInput {
  head: HeadSample | undefined;
  /** Wall clock, ms. */
  nowMs: number;
  maxHeadAgeSec: number;
  failing: readonly FailingPurpose[];
}

/** Pure: the health status of these facts. */
export function evaluateHealth(i: HealthInput): HealthStatus {
  const causes: string[] = [];
  const headAgeSec = i.head ? Math.round(i.nowMs / 1000 - i.head.timestamp) : undefined;
  if (!i.head) causes.push("no chain head seen yet");
  else if (headAgeSec! > i.maxHeadAgeSec) {
    causes.push(
      `chain head is stale: block ${i.head.block} is ${headAgeSec} s old (max ${i.maxHeadAgeSec} s); is the node syncing and the RPC answering?`,
    );
  }
  for (const f of i.failing)
    causes.push(`transactions of purpose "${f.purpose}" failed ${f.failuresInARow} times in a row: ${f.lastReason}`);
  return {
    ok: causes.length === 0,
    details: {
      ...(causes.length ? { causes } : {}),
      headBlock: i.head?.block ?? null,
      headAgeSeconds: headAgeSec ?? null,
      maxHeadAgeSeconds: i.maxHeadAgeSec,
      failingPurposes: i.failing,
    },
  };
}

/** Read the latest block and record it (`setHead`); a daemon calls it once per tick. */
export async function observeHead(provider: Pick<Provider, "getBlock">, metrics: { setHead(h: HeadSample): void }): Promise<void> {
  const b = await provider.getBlock("latest");
  if (b) metrics.setHead({ block: b.number, timestamp: b.timestamp });
}
