/**
 * Block timestamps of the in-process Hardhat network that do not depend on the wall clock.
 *
 * Hardhat stamps a block with the wall clock (plus any offset a test asked for), and a block's
 * hash covers its timestamp, so the auditor and juror draws, which are seeded from block hashes,
 * seat different accounts on every run. The gas suite's per-call figures then depend on the luck
 * of the draw (how many distinct accounts hold the seats), and two runs of the same code disagree.
 * Pinned, every block is stamped exactly one second after its parent unless the caller asked for
 * a later time (`evm_setNextBlockTimestamp`, which `time.increase` and `time.increaseTo` use), and
 * the chain starts at a fixed date: the same code then measures the same draws, every run.
 */
import type { EthereumProvider, RequestArguments } from "hardhat/types";

/** Genesis date of the pinned chain (any fixed date after the contracts' own time assumptions). */
export const PINNED_GENESIS = "2026-01-01T00:00:00Z";

/** Requests that mine at least one block under automine. */
const MINING = new Set(["eth_sendTransaction", "eth_sendRawTransaction", "evm_mine", "hardhat_mine"]);

interface RpcBlock {
  readonly timestamp: string;
}

/**
 * Pins `provider`'s block timestamps (see the module comment). Call it before the network's first
 * request, after setting the network's `initialDate` to `PINNED_GENESIS`. Both entry points are
 * wrapped: the network helpers call `request`, hardhat-ethers calls `send`. Returns a function that
 * restores the provider's own methods.
 */
export function pinBlockTimestamps(provider: EthereumProvider): () => void {
  const { request: ownRequest, send: ownSend } = provider;
  const request = ownRequest.bind(provider);
  // True between a caller's evm_setNextBlockTimestamp and the block it applies to.
  let callerChoseNext = false;
  const pinned = async (args: RequestArguments): Promise<unknown> => {
    if (args.method === "evm_setNextBlockTimestamp") callerChoseNext = true;
    if (args.method === "evm_revert") callerChoseNext = false;
    if (MINING.has(args.method)) {
      if (!callerChoseNext) {
        const latest = (await request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as RpcBlock;
        const next = BigInt(latest.timestamp) + 1n;
        await request({ method: "evm_setNextBlockTimestamp", params: [`0x${next.toString(16)}`] });
      }
      callerChoseNext = false;
    }
    return request(args);
  };
  provider.request = pinned;
  provider.send = (method: string, params?: unknown[]): Promise<unknown> => pinned({ method, params });
  return () => {
    provider.request = ownRequest;
    provider.send = ownSend;
  };
}
