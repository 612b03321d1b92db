/**
 * Which randomness source a deployment may use on which chain (PROTOCOL-v3 V3.5,
 * docs/randomness.md): `blockhash` only on local test chains; on a known L1 not the L2-only
 * source, on a known L2 not the L1-only one.
 */
import { DeployConfigError } from "./errors";

/** The IRandomness implementations a deploy config can ask for ("external": an address given). */
export type RandomnessSource = "blockhash" | "prevrandao" | "l1origin" | "vrf" | "external";

/** Chain ids where BlockhashRandomness may be deployed (its constructor checks the same). */
export const TEST_CHAIN_IDS: readonly bigint[] = [31337n, 1337n];

/** Well-known public chains, to name them in errors and to tell L1 from L2. */
const KNOWN_CHAINS: ReadonlyMap<bigint, { name: string; layer: 1 | 2 }> = new Map([
  [1n, { name: "Ethereum mainnet", layer: 1 }],
  [11155111n, { name: "Sepolia", layer: 1 }],
  [17000n, { name: "Holesky", layer: 1 }],
  [560048n, { name: "Hoodi", layer: 1 }],
  [10n, { name: "OP Mainnet", layer: 2 }],
  [11155420n, { name: "OP Sepolia", layer: 2 }],
  [8453n, { name: "Base", layer: 2 }],
  [84532n, { name: "Base Sepolia", layer: 2 }],
  [42161n, { name: "Arbitrum One", layer: 2 }],
  [421614n, { name: "Arbitrum Sepolia", layer: 2 }],
]);

/** "chain 8453 (Base)" or "chain 12345". */
export function chainLabel(chainId: bigint): string {
  const known = KNOWN_CHAINS.get(chainId);
  return known ? `chain ${chainId} (${known.name})` : `chain ${chainId}`;
}

/**
 * Throws a DeployConfigError naming the network when `source` may not serve seeds on `chainId`:
 * `blockhash` outside 31337/1337 (a producer re-rolls it by withholding a block), `prevrandao` on
 * a known L2 (its prevrandao is the sequencer's or a constant), `l1origin` on a known L1 (it has no
 * L1-block oracle). Other chains and sources pass: the deploy config is responsible for them.
 */
export function assertRandomnessAllowed(chainId: bigint, source: RandomnessSource): void {
  const layer = KNOWN_CHAINS.get(chainId)?.layer;
  let reason: string | undefined;
  if (source === "blockhash" && !TEST_CHAIN_IDS.includes(chainId)) {
    reason = "blockhash randomness is for local test chains (31337, 1337) only: use prevrandao on L1, l1origin or vrf on an L2";
  } else if (source === "prevrandao" && layer === 2) {
    reason = "prevrandao randomness is for L1 only: on an L2 use l1origin or vrf";
  } else if (source === "l1origin" && layer === 1) {
    reason = "l1origin randomness needs an L2 with an L1-block oracle: on L1 use prevrandao";
  }
  if (reason !== undefined) {
    throw new DeployConfigError(`${chainLabel(chainId)}: ${reason}`, { chainId: chainId.toString(), source });
  }
}
