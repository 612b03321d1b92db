/**
 * Which IRandomness contract a deployment uses, probed from the contract itself (each source has
 * a view only it exposes), so the daemon needs no deployment file: PrevrandaoRandomness
 * `HISTORY_CONTRACT()`, L1OriginRandomness `oracle()`, VrfRandomness `coordinator()`; none of
 * them: BlockhashRandomness (or any source that needs no keeper).
 */
import { isError, type ContractRunner } from "ethers";
import { L1OriginRandomness__factory, PrevrandaoRandomness__factory, VrfRandomness__factory } from "../../../typechain-types";
import type { RandomnessSource } from "./decide";

/** True when the call reverted (no such function); RPC failures are rethrown, never read as "no". */
async function answers(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (isError(err, "CALL_EXCEPTION") || isError(err, "BAD_DATA")) return false;
    throw err;
  }
}

export async function detectRandomnessSource(address: string, runner: ContractRunner): Promise<RandomnessSource> {
  if (await answers(() => PrevrandaoRandomness__factory.connect(address, runner).HISTORY_CONTRACT())) return "prevrandao";
  if (await answers(() => L1OriginRandomness__factory.connect(address, runner).oracle())) return "l1origin";
  if (await answers(() => VrfRandomness__factory.connect(address, runner).coordinator())) return "vrf";
  return "blockhash";
}
