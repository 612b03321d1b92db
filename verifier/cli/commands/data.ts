/** `upow data pack`: MNIST (the `mnist` package) → seeded split, canonical batch files, data root. */
import type { Command } from "commander";
import { buildMnistDataset, writeMnistDataset } from "../../engine/data";
import { sha256 } from "../../engine/hashing";
import { parseIntOption, type CliContext } from "../context";

export function registerData(program: Command, ctx: () => CliContext): void {
  const data = program.command("data").description("training data sets");
  data
    .command("pack")
    .description("pack MNIST into canonical safetensors batches (batch-NNNNNN.safetensors, test.safetensors, batches.json)")
    .requiredOption("-o, --out <dir>", "output directory")
    .option("--batch-size <n>", "rows per batch", parseIntOption("batch-size", 1), 64)
    .option("--test-size <n>", "held-out test samples", parseIntOption("test-size", 1), 1000)
    .option("--max-batches <n>", "keep at most this many training batches", parseIntOption("max-batches", 1))
    .option("--seed <text>", "seed of the split (hashed to bytes32)", "upow-mnist")
    .action(async (o: { out: string; batchSize: number; testSize: number; maxBatches?: number; seed: string }) => {
      const c = ctx();
      const seed = seedHash(o.seed);
      const ds = buildMnistDataset({ seed, batchSize: o.batchSize, testSize: o.testSize, maxBatches: o.maxBatches });
      const index = await writeMnistDataset(o.out, ds);
      c.log.info({ out: o.out, numBatches: index.numBatches }, "dataset written");
      c.result({ dir: o.out, seed, batchSize: index.batchSize, numBatches: index.numBatches, dataRoot: index.dataRoot, testSetHash: index.testSetHash }, () =>
        [`${index.numBatches} batches of ${index.batchSize} + ${o.testSize} test digits → ${o.out}`, `  data root  ${index.dataRoot}`].join("\n"));
    });
}

/** A text seed as bytes32 hex (a 0x-prefixed 64-hex-digit seed is taken as is). */
export function seedHash(seed: string): `0x${string}` {
  if (/^0x[0-9a-fA-F]{64}$/.test(seed)) return seed.toLowerCase() as `0x${string}`;
  return `0x${sha256(Buffer.from(seed, "utf8")).toString("hex")}`;
}
