/**
 * Symbol and decimals of ERC-20 tokens, read once per token and cached for the life of the
 * process (they never change). A token without `symbol()`/`decimals()` (both optional in
 * ERC-20) reads as its short address with 18 decimals rather than failing a log line.
 */
import { getAddress, isError, type ContractRunner } from "ethers";
import { IERC20Metadata__factory } from "../../typechain-types";
import { amountFields, formatAmount, type TokenInfo } from "./format";

/** What a log line needs: an amount as `{ key: "100 UPAY", keyRaw: "100000…" }`. */
export interface AmountFormatter {
  fields(key: string, token: string, raw: bigint): Promise<Record<string, string>>;
}

export class TokenInfoCache implements AmountFormatter {
  readonly #runner: ContractRunner;
  readonly #cache = new Map<string, Promise<TokenInfo>>();

  constructor(runner: ContractRunner) {
    this.#runner = runner;
  }

  info(token: string): Promise<TokenInfo> {
    const address = getAddress(token);
    let p = this.#cache.get(address);
    if (p === undefined) {
      p = this.#read(address);
      this.#cache.set(address, p);
      // A failed read (RPC down) is not cached: the next call tries again.
      p.catch(() => this.#cache.delete(address));
    }
    return p;
  }

  async format(token: string, raw: bigint): Promise<string> {
    return formatAmount(raw, await this.info(token));
  }

  /**
   * `{ key: "100 UPAY", keyRaw: "1000…" }` for a log line. Never throws: a log line must not fail
   * the work it reports, so an unreadable token gives `key: "<raw> base units"` this time.
   */
  async fields(key: string, token: string, raw: bigint): Promise<Record<string, string>> {
    try {
      return amountFields(key, raw, await this.info(token));
    } catch {
      return { [key]: `${raw} base units`, [`${key}Raw`]: raw.toString() };
    }
  }

  async #read(address: string): Promise<TokenInfo> {
    const t = IERC20Metadata__factory.connect(address, this.#runner);
    const code = await this.#runner.provider?.getCode(address);
    if (code === "0x") return fallback(address);
    const [symbol, decimals] = await Promise.all([t.symbol().catch(missing), t.decimals().catch(missing)]);
    return {
      address,
      symbol: symbol !== undefined && /^[\x21-\x7e]{1,16}$/.test(symbol) ? symbol : fallback(address).symbol,
      decimals: decimals !== undefined && decimals <= 77n ? Number(decimals) : 18,
    };
  }
}

function fallback(address: string): TokenInfo {
  return { address, symbol: `${address.slice(0, 6)}…${address.slice(-4)}`, decimals: 18 };
}

/**
 * The token lacks the optional function: the call reverted (revert data, possibly empty "0x") or
 * returned what does not decode. Use the fallback then. Any other failure propagates — ethers also
 * reports a node's own error on eth_call (rate limit, missing state) as CALL_EXCEPTION, but without
 * revert data — so a transient error never caches a wrong symbol.
 */
function missing(err: unknown): undefined {
  if (isError(err, "BAD_DATA")) return undefined;
  if (isError(err, "CALL_EXCEPTION") && typeof err.data === "string") return undefined;
  throw err;
}
