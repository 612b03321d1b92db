/** The MLP step-graph specification shared by the builder, initState and the float64 reference. */
import { ModelSpecError } from "./errors";

export type Activation = "relu" | "tanh" | "gelu";
export type OptimizerKind = "sgd" | "momentum" | "adam";

export interface ModelSpec {
  /** Layer widths including input and output, e.g. `[784, 128, 10]` (MNIST: first 784, last 10). */
  readonly layers: readonly number[];
  /** Activation after every hidden layer (none after the last: logits). */
  readonly activation: Activation;
  readonly optimizer: OptimizerKind;
}

/** Hyperparameter names per optimizer; each is a graph input `hp.<name>` (float32 scalar). */
const HYPERPARAMETERS: Readonly<Record<OptimizerKind, readonly string[]>> = {
  sgd: ["lr"],
  momentum: ["lr", "momentum"],
  adam: ["lr", "beta1", "beta2", "eps"],
};

const DEFAULT_HYPERPARAMETERS: Readonly<Record<OptimizerKind, Readonly<Record<string, number>>>> = {
  sgd: { lr: 0.05 },
  momentum: { lr: 0.05, momentum: 0.9 },
  adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
};

export function hyperparameterNames(spec: ModelSpec): readonly string[] {
  return HYPERPARAMETERS[spec.optimizer];
}

export function defaultHyperparameters(spec: ModelSpec): Record<string, number> {
  return { ...DEFAULT_HYPERPARAMETERS[spec.optimizer] };
}

export interface ParamInfo {
  /** State name, e.g. `fc1.weight`. */
  readonly name: string;
  /** PyTorch layout: weight `[out, in]`, bias `[out]`. */
  readonly shape: readonly number[];
  /** 1-based layer index. */
  readonly layer: number;
  readonly kind: "weight" | "bias";
}

export interface StateEntry {
  readonly name: string;
  readonly dtype: "F32" | "I64";
  readonly shape: readonly number[];
}

export const ADAM_STEP = "adam.step";

export function paramInfos(spec: ModelSpec): ParamInfo[] {
  const out: ParamInfo[] = [];
  for (let i = 1; i < spec.layers.length; i++) {
    const fanIn = spec.layers[i - 1];
    const fanOut = spec.layers[i];
    out.push({ name: `fc${i}.weight`, shape: [fanOut, fanIn], layer: i, kind: "weight" });
    out.push({ name: `fc${i}.bias`, shape: [fanOut], layer: i, kind: "bias" });
  }
  return out;
}

/** Optimizer-state names for one parameter. */
export function slotNames(spec: ModelSpec, param: string): string[] {
  switch (spec.optimizer) {
    case "sgd":
      return [];
    case "momentum":
      return [`momentum.${param}`];
    case "adam":
      return [`adam.m.${param}`, `adam.v.${param}`];
  }
}

/** Every tensor of the training state, sorted by name (the canonical file order). */
export function stateLayout(spec: ModelSpec): StateEntry[] {
  validateModelSpec(spec);
  const entries: StateEntry[] = [];
  for (const p of paramInfos(spec)) {
    entries.push({ name: p.name, dtype: "F32", shape: p.shape });
    for (const s of slotNames(spec, p.name)) entries.push({ name: s, dtype: "F32", shape: p.shape });
  }
  if (spec.optimizer === "adam") entries.push({ name: ADAM_STEP, dtype: "I64", shape: [] });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const MAX_WIDTH = 1 << 16;
const MAX_LAYERS = 64;

export function validateModelSpec(spec: ModelSpec): void {
  if (!Array.isArray(spec.layers) || spec.layers.length < 2 || spec.layers.length > MAX_LAYERS + 1) {
    throw new ModelSpecError("layers must list 2 to 65 widths (input ... output)", { details: { layers: spec.layers } });
  }
  for (const w of spec.layers) {
    if (!Number.isInteger(w) || w < 1 || w > MAX_WIDTH) {
      throw new ModelSpecError("layer width must be an integer in [1, 65536]", { details: { width: w } });
    }
  }
  if (!["relu", "tanh", "gelu"].includes(spec.activation)) {
    throw new ModelSpecError("unknown activation", { details: { activation: spec.activation } });
  }
  if (!["sgd", "momentum", "adam"].includes(spec.optimizer)) {
    throw new ModelSpecError("unknown optimizer", { details: { optimizer: spec.optimizer } });
  }
}
