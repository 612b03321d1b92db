/**
 * Deterministic randomness for data splits and batch order: a sha256 counter stream
 * `sha256(domain ‖ seed ‖ uint64 counter)`, read as big-endian uint32 words. Never Math.random:
 * every party must derive the same permutation from the manifest seed.
 */
import { UPowError } from "../errors";
import { sha256, uint64Bytes } from "../protocol/hashing";

export class Sha256Prng {
  private readonly prefix: Buffer;
  private counter = 0n;
  private block: Buffer = Buffer.alloc(0);
  private pos = 0;

  /** `seed` is raw bytes (e.g. a decoded bytes32); `domain` separates independent streams. */
  constructor(seed: Uint8Array, domain: string) {
    this.prefix = Buffer.concat([Buffer.from(domain, "utf8"), seed]);
  }

  nextUint32(): number {
    if (this.pos >= this.block.length) {
      this.block = sha256(this.prefix, uint64Bytes(this.counter++, "prng counter"));
      this.pos = 0;
    }
    const v = this.block.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); 1 ≤ n ≤ 2^32. */
  below(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 32) {
      throw new UPowError("prng range must be an integer in [1, 2^32]", { details: { n } });
    }
    const limit = Math.floor(2 ** 32 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

/**
 * Fisher–Yates permutation of 0..n-1: for i = n-1 down to 1, swap i with `below(i+1)`.
 * (The exact procedure is part of the protocol: see docs/encoding.md, batch order.)
 */
export function permutation(n: number, prng: Sha256Prng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = prng.below(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
