/** `upow model init`: build the step graph and the seeded initial state of an MLP. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { buildStepGraph, defaultHyperparameters, initState, type Activation, type ModelSpec, type OptimizerKind } from "../../engine/onnx";
import { writeSafetensors } from "../../engine/safetensors";
import { fileHashOfSync } from "../../engine/statehash";
import { CliError, type CliContext } from "../context";
import { sha256Hex, type ModelInfo } from "../jobfiles";

export function registerModel(program: Command, ctx: () => CliContext): void {
  const model = program.command("model").description("step graphs and initial states");
  model
    .command("init")
    .description("build an MLP step graph (graph.onnx), its seeded initial state (init.safetensors) and model.json")
    .requiredOption("-o, --out <dir>", "output directory")
    .option("--layers <widths>", "layer widths, input to output", "784,128,10")
    .option("--activation <name>", "relu | tanh | gelu", "relu")
    .option("--optimizer <name>", "sgd | momentum | adam", "adam")
    .option("--seed <text>", "seed of the initial weights", "upow")
    .option("--lr <number>", "learning rate (other hyperparameters keep their defaults)")
    .action(async (o: { out: string; layers: string; activation: string; optimizer: string; seed: string; lr?: string }) => {
      const c = ctx();
      const layers = o.layers.split(",").map((s) => Number(s.trim()));
      if (layers.some((w) => !Number.isInteger(w)))
        throw new CliError("--layers must be comma-separated integers", { details: { layers: o.layers } });
      const spec: ModelSpec = { layers, activation: o.activation as Activation, optimizer: o.optimizer as OptimizerKind };
      const graph = buildStepGraph(spec);
      const stateBytes = writeSafetensors(initState(spec, o.seed));
      const hp = defaultHyperparameters(spec);
      if (o.lr !== undefined) {
        const lr = Number(o.lr);
        if (!(lr > 0 && Number.isFinite(lr))) throw new CliError("--lr must be a positive number", { details: { lr: o.lr } });
        hp.lr = lr;
      }
      const info: ModelInfo = { spec, hp, seed: o.seed, graphSha256: sha256Hex(graph), initialStateHash: fileHashOfSync(stateBytes) };
      await mkdir(o.out, { recursive: true });
      await writeFile(path.join(o.out, "graph.onnx"), graph);
      await writeFile(path.join(o.out, "init.safetensors"), stateBytes);
      await writeFile(path.join(o.out, "model.json"), JSON.stringify(info, null, 1));
      c.log.info({ out: o.out, graphBytes: graph.length, stateBytes: stateBytes.length }, "model written");
      c.result({ ...info, dir: o.out }, () =>
        [
          `model ${layers.join("-")} ${spec.activation} ${spec.optimizer} → ${o.out}`,
          `  graph sha256        ${info.graphSha256}`,
          `  initial state hash  ${info.initialStateHash}`,
        ].join("\n"),
      );
    });
}
