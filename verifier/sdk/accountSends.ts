/**
 * One account's SDK sends, one batch at a time, each batch continuing the nonce after the last one
 * this process sent. `createJob` approves and then escrows: two at once on one account would set
 * each other's allowance (approve sets it, it does not add), and both could read one pending count
 * through the provider's call cache (ethers: 250 ms by default), so one send would reuse a nonce.
 */
import type { Signer } from "ethers";

interface AccountState {
  /** The previous batch: the next one starts when it settles, whatever its outcome. */
  tail: Promise<unknown>;
  /** The nonce after the last batch's sends; 0 once a batch failed (nothing known then). */
  next: number;
}

const accounts = new Map<string, AccountState>();

/** What a batch did: its result and how many transactions it sent from `firstNonce` on. */
export interface SentBatch<T> {
  readonly result: T;
  readonly sent: number;
}

/**
 * Runs `batch` after every earlier batch of the same account (on the same chain) has settled,
 * giving it the first nonce to send with: the larger of the account's pending count and the nonce
 * after this process's last batch, so a cached pending count cannot send a nonce twice.
 */
export async function inAccountOrder<T>(signer: Signer, batch: (firstNonce: number) => Promise<SentBatch<T>>): Promise<T> {
  const provider = signer.provider;
  const chainId = provider ? (await provider.getNetwork()).chainId : 0n;
  const key = `${chainId}:${(await signer.getAddress()).toLowerCase()}`;
  const state = accounts.get(key) ?? { tail: Promise.resolve(), next: 0 };
  accounts.set(key, state);
  const run = async (): Promise<T> => {
    const first = Math.max(await signer.getNonce("pending"), state.next);
    try {
      const { result, sent } = await batch(first);
      state.next = first + sent;
      return result;
    } catch (e) {
      // Which sends went out is unknown: the pending count decides next time.
      state.next = 0;
      throw e;
    }
  };
  const mine = state.tail.then(run, run);
  state.tail = mine.catch(() => undefined);
  return mine;
}
