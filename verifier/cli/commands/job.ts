/** `upow job manifest`: a job file binding model, data, batch order, T, k and tolerance. */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import type { DatasetIndex } from "../../engine/data";
import { CliError, parseFloatOption, parseIntOption, readJson, type CliContext } from "../context";
import { DEFAULT_TOLERANCE, canonicalJson, sha256Hex, type JobFile, type ModelInfo } from "../jobfiles";
import { seedHash } from "./data";

export function registerJob(program: Command, ctx: () => CliContext): void {
  const job = program.command("job").description("job files");
  job
    .command("manifest")
    .description("write a job file (job.json) for a model directory and a data directory")
    .requiredOption("--model <dir>", "directory from `upow model init`")
    .requiredOption("--data <dir>", "directory from `upow data pack`")
    .requiredOption("-o, --out <file>", "job file to write")
    .option(
      "--epochs <n>",
      "passes over the batches (T = epochs · numBatches, rounded down to a multiple of k)",
      parseIntOption("epochs", 1),
      1,
    )
    .option("--steps <n>", "total steps T (overrides --epochs; must be a multiple of k)", parseIntOption("steps", 1))
    .option("-k, --interval <n>", "checkpoint interval k", parseIntOption("interval", 1), 50)
    .option("--seed <text>", "batch-order seed", "upow-order")
    .option("--lr <number>", "override the learning rate", parseFloatOption("lr"))
    .option("--delta-upd <x>", "single-step δ_upd", parseFloatOption("delta-upd"), DEFAULT_TOLERANCE.deltaUpd)
    .option("--delta-ulp <x>", "single-step δ_ulp", parseFloatOption("delta-ulp"), DEFAULT_TOLERANCE.deltaUlp)
    .option("--delta-k-upd <x>", "k-step δ_k_upd", parseFloatOption("delta-k-upd"), DEFAULT_TOLERANCE.deltaKUpd)
    .option("--delta-k-ulp <x>", "k-step δ_k_ulp", parseFloatOption("delta-k-ulp"), DEFAULT_TOLERANCE.deltaKUlp)
    .action(
      async (o: {
        model: string;
        data: string;
        out: string;
        epochs: number;
        steps?: number;
        interval: number;
        seed: string;
        lr?: number;
        deltaUpd: number;
        deltaUlp: number;
        deltaKUpd: number;
        deltaKUlp: number;
      }) => {
        const c = ctx();
        const model = await readJson<ModelInfo>(path.join(o.model, "model.json"), "model.json");
        const data = await readJson<DatasetIndex>(path.join(o.data, "batches.json"), "batches.json");
        const k = o.interval;
        let T = o.steps ?? Math.floor((o.epochs * data.numBatches) / k) * k;
        if (T < k) T = k;
        if (T % k !== 0) throw new CliError("T must be a multiple of k", { details: { T, k } });
        const base = path.dirname(path.resolve(o.out));
        const rel = (p: string): string => path.relative(base, path.resolve(p)) || ".";
        const hp = { ...model.hp, ...(o.lr !== undefined ? { lr: o.lr } : {}) };
        const jf: JobFile = {
          version: 1,
          spec: model.spec,
          graph: { path: rel(path.join(o.model, "graph.onnx")), sha256: model.graphSha256 },
          initialState: { path: rel(path.join(o.model, "init.safetensors")), hash: model.initialStateHash },
          data: {
            dir: rel(o.data),
            dataRoot: data.dataRoot,
            numBatches: data.numBatches,
            batchSize: data.batchSize,
            testSetHash: data.testSetHash,
          },
          seed: seedHash(o.seed),
          hp,
          T,
          k,
          tolerance: { deltaUpd: o.deltaUpd, deltaUlp: o.deltaUlp, deltaKUpd: o.deltaKUpd, deltaKUlp: o.deltaKUlp },
        };
        const text = canonicalJson(jf);
        await writeFile(o.out, text);
        const jobHash = sha256Hex(Buffer.from(text));
        c.result(
          { file: o.out, jobHash, T, k, checkpoints: T / k + 1 },
          () => `job → ${o.out}\n  T=${T} k=${k} (${T / k + 1} checkpoints)\n  job hash ${jobHash}`,
        );
      },
    );
}
