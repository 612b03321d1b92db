/**
 * One account's SDK sends, one batch at a time, each batch continuing the nonce after the last one
 * this process sent. `createJob` approves and then escrows: two at once on one account would set
 * each other's allowance (approve sets it, it does not add), and both could read one pending count
 * through the provider's call cache (ethers: 250 ms by default), so one send would reuse a nonce.
 */
import type { Provider, Signer } from "ethers";

interface AccountState {
  /** The previous batch: the next one starts when it settles, whatever its outcome. */
  tail: Promise<unknown>;
  /** The last batch's final transaction and the nonce after it; none once a batch failed. */
  last?: { readonly hash: string; readonly next: number };
}

const accounts = new Map<string, AccountState>();

/** What a batch did: its result, how many transactions it sent from `firstNonce` on, and the last one's hash. */
export interface SentBatch<T> {
  readonly result: T;
  readonly sent: number;
  readonly lastHash: string;
}

/**
 * Runs `batch` after every earlier batch of `signer`'s account on `provider`'s chain has settled,
 * giving it the first nonce to send with: the account's pending count, or the nonce after this
 * process's last batch when that is higher and the chain still has the batch's last transaction
 * (a cached pending count can be older than it; a chain that dropped it, in a reorganisation or a
 * test's snapshot revert, has the lower count right, and a nonce above it would never be mined).
 */
export async function inAccountOrder<T>(
  provider: Provider,
  signer: Signer,
  batch: (firstNonce: number) => Promise<SentBatch<T>>,
): Promise<T> {
  const chainId = (await provider.getNetwork()).chainId;
  const key = `${chainId}:${(await signer.getAddress()).toLowerCase()}`;
  const state = accounts.get(key) ?? { tail: Promise.resolve() };
  accounts.set(key, state);
  const run = async (): Promise<T> => {
    let first = await signer.getNonce("pending");
    const last = state.last;
    if (last !== undefined && last.next > first && (await provider.getTransactionReceipt(last.hash)) !== null) first = last.next;
    state.last = undefined; // unknown until this batch says what it sent
    const { result, sent, lastHash } = await batch(first);
    state.last = { hash: lastHash, next: first + sent };
    return result;
  };
  const mine = state.tail.then(run, run);
  state.tail = mine.catch(() => undefined);
  return mine;
}
