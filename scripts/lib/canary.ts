/**
 * Canary tooling (PROTOCOL.md v3 V10.1, V11.1): an epoch's canaries are committed as one Merkle
 * root in the CanaryRegistry before the epoch starts; each canary is revealed later with its leaf
 * and proof (`AuditManager.revealCanary`, `DisputeManager.revealCanaryTruth`).
 *
 * Leaf: `(bytes32 specHash, uint256[] faultSteps, bytes32 salt)`, hashed as OpenZeppelin's
 * StandardMerkleTree does (`keccak256(bytes.concat(keccak256(abi.encode(...))))`), leaves sorted by
 * hash, sorted-pair node hashing: the same tree `@openzeppelin/merkle-tree` builds, without the
 * dependency. `faultSteps` are the faulty global steps j (S_j → S_{j+1}), ascending, no repeats;
 * step j lies in interval `j / k`. An honest-only canary (juror canary on an honest step, or an
 * auditor canary with no fault) has `faultSteps = []`.
 */
import { AbiCoder, concat, keccak256, type BytesLike } from "ethers";

export interface Canary {
  specHash: string;
  faultSteps: bigint[];
  salt: string;
}

export interface CanaryTree {
  root: string;
  /** Leaf hash of each canary, in input order. */
  leaves: string[];
  /** Proof of the canary at input index `i`. */
  proof(i: number): string[];
}

const coder = AbiCoder.defaultAbiCoder();

/** The double-hashed leaf of a canary (StandardMerkleTree, `["bytes32", "uint256[]", "bytes32"]`). */
export function canaryLeaf(c: Canary): string {
  return keccak256(keccak256(coder.encode(["bytes32", "uint256[]", "bytes32"], [c.specHash, c.faultSteps, c.salt])));
}

function hashPair(a: BytesLike, b: BytesLike): string {
  const [x, y] = BigInt(a as string) <= BigInt(b as string) ? [a, b] : [b, a];
  return keccak256(concat([x, y]));
}

/** Validates a canary: fault steps ascending without repeats. */
export function checkCanary(c: Canary): void {
  for (let i = 1; i < c.faultSteps.length; i++) {
    if (c.faultSteps[i] <= c.faultSteps[i - 1]) throw new Error(`canary ${c.specHash}: faultSteps must be strictly ascending`);
  }
}

/** Builds an epoch's tree (OpenZeppelin StandardMerkleTree layout: sorted leaves, complete binary tree in an array). */
export function buildCanaryTree(canaries: readonly Canary[]): CanaryTree {
  if (canaries.length === 0) throw new Error("an epoch tree needs at least one canary");
  canaries.forEach(checkCanary);
  const leaves = canaries.map(canaryLeaf);
  const order = leaves.map((h, i) => ({ h, i })).sort((a, b) => (BigInt(a.h) < BigInt(b.h) ? -1 : BigInt(a.h) > BigInt(b.h) ? 1 : 0));
  const n = order.length;
  const tree: string[] = new Array<string>(2 * n - 1);
  const position = new Array<number>(n);
  order.forEach(({ h, i }, j) => {
    tree[tree.length - 1 - j] = h;
    position[i] = tree.length - 1 - j;
  });
  for (let t = tree.length - 1 - n; t >= 0; t--) tree[t] = hashPair(tree[2 * t + 1], tree[2 * t + 2]);
  return {
    root: tree[0],
    leaves,
    proof(i: number): string[] {
      const out: string[] = [];
      for (let t = position[i]; t > 0; t = Math.floor((t - 1) / 2)) out.push(tree[t % 2 === 1 ? t + 1 : t - 1]);
      return out;
    },
  };
}

/** The registry calls the tooling needs (a typechain CanaryRegistry satisfies it). */
export interface CanaryRegistryLike {
  currentEpoch(): Promise<bigint>;
  postRoot(epoch: bigint, root: string): Promise<{ wait(): Promise<unknown> }>;
}

/**
 * Commits an epoch's canaries: builds the tree and posts its root for `epoch` (default: the next
 * epoch, the earliest the registry accepts). Keep the returned proofs and the salts secret until
 * each canary is revealed.
 */
export async function postCanaryEpoch(
  registry: CanaryRegistryLike,
  canaries: readonly Canary[],
  epoch?: bigint,
): Promise<{ epoch: bigint; tree: CanaryTree }> {
  const tree = buildCanaryTree(canaries);
  const target = epoch ?? (await registry.currentEpoch()) + 1n;
  await (await registry.postRoot(target, tree.root)).wait();
  return { epoch: target, tree };
}
