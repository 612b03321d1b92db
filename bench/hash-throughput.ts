/**
 * Hashing throughput of state files: node's sha256 over raw bytes, the file hash in the calling thread,
 * and the file hash in the worker pool (sizes 1..4 threads). Not a test.
 *   npx ts-node bench/hash-throughput.ts [MiB=64] [reps=3]
 */
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { HashPool } from "../verifier/engine/hashpool";
import { fileHashOf, fileHashOfSync } from "../verifier/engine/statehash";

async function time(label: string, bytes: number, reps: number, fn: () => unknown): Promise<void> {
  await fn(); // warm-up (also starts pool workers)
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(`${label.padEnd(34)} ${(bytes / best / 1e6).toFixed(0).padStart(6)} MB/s  (${(best * 1e3).toFixed(1)} ms best of ${reps})`);
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 64);
  const reps = Number(process.argv[3] ?? 3);
  const data = Buffer.alloc(mib << 20);
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
  console.log(`${mib} MiB, ${availableParallelism()} CPUs, node ${process.version}`);
  await time("plain sha256 (one call)", data.length, reps, () => createHash("sha256").update(data).digest());
  await time("fileHash, calling thread", data.length, reps, () => fileHashOfSync(data));
  for (const size of [1, 2, 4]) {
    const pool = new HashPool({ size });
    await time(`fileHash, pool of ${size}`, data.length, reps, () => fileHashOf(data, { pool, minParallelBytes: 0 }));
    await pool.close();
  }
}

void main();
