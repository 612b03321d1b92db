/**
 * Bounded log reads for one-shot commands: `getLogs` over `[from, to]` in chunks, so a long chain
 * never becomes one request a node refuses. No cursor, no confirmations (the daemons' EventCursor
 * does that); the caller reads at one block and passes it as `to`.
 */
import type { Log, Provider } from "ethers";
import { UPowError } from "../errors";

class LogScanError extends UPowError {
  override readonly name = "LogScanError";
}

export interface ScanLogsParameters {
  provider: Provider;
  address: string | string[];
  topics: Array<string | string[] | null>;
  fromBlock: number;
  toBlock: number;
  /** Blocks per request. @default 5_000 */
  chunkSize?: number;
}

export async function scanLogs(p: ScanLogsParameters): Promise<Log[]> {
  const chunk = p.chunkSize ?? 5_000;
  if (!Number.isSafeInteger(chunk) || chunk < 1)
    throw new LogScanError("chunk size must be a positive integer", { details: { chunkSize: chunk } });
  const out: Log[] = [];
  for (let from = p.fromBlock; from <= p.toBlock; from += chunk) {
    const to = Math.min(p.toBlock, from + chunk - 1);
    try {
      out.push(...(await p.provider.getLogs({ address: p.address, topics: p.topics, fromBlock: from, toBlock: to })));
    } catch (cause) {
      throw new LogScanError(`getLogs failed for blocks ${from}..${to}`, { cause, details: { from, to } });
    }
  }
  return out;
}
