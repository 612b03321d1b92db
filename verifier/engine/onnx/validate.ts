/**
 * Validation of an untrusted step graph before anyone runs it (PROTOCOL.md §2, §10.4):
 * size limits, no external data, an op allow-list, dtype inference (no float→int Cast) and the
 * `state.* / batch.* / hp.* -> next.* / loss` I/O convention.
 */
import type { DType } from "../tensor";
import {
  GraphDTypeError,
  GraphDecodeError,
  GraphExternalDataError,
  GraphIoConventionError,
  GraphOpNotAllowedError,
  GraphStructureError,
  GraphTooLargeError,
} from "./errors";
import { ELEM_BYTES, ELEM_TO_DTYPE, ElemType, isFloatElem, onnx, toNum } from "./proto";
import { BOOL_OUTPUT_OPS, DATA_MOVEMENT_OPS, ELEMENTWISE_OPS, REDUCE_OPS } from "./ops";

export interface GraphLimits {
  /** Encoded ModelProto size. @default 64 MiB */
  readonly maxGraphBytes: number;
  /** @default 20000 */
  readonly maxNodes: number;
  /** Sum over initializers and Constant tensors. @default 32 MiB */
  readonly maxInitializerBytes: number;
  /** @default 13 */
  readonly minOpset: number;
  /** @default 21 */
  readonly maxOpset: number;
}

const DEFAULT_GRAPH_LIMITS: GraphLimits = {
  maxGraphBytes: 64 * 1024 * 1024,
  maxNodes: 20000,
  maxInitializerBytes: 32 * 1024 * 1024,
  minOpset: 13,
  maxOpset: 21,
};

/**
 * Ops a step graph may use. Excluded on purpose (§10.4): float→int Cast (checked separately),
 * ArgMax/ArgMin, TopK, random ops, control flow (If/Loop/Scan), and anything outside the default domain.
 */
export const ALLOWED_OPS: ReadonlySet<string> = new Set([
  ...ELEMENTWISE_OPS,
  ...REDUCE_OPS,
  ...DATA_MOVEMENT_OPS,
  "MatMul",
  "Gemm",
  "Softmax",
  "LogSoftmax",
  "Cast",
  "OneHot",
  "Expand",
]);

export interface IoSpec {
  /** Name without its `state.` / `batch.` / `hp.` prefix. */
  readonly name: string;
  readonly dtype: DType;
  /** Static dims are numbers; symbolic dims (batch) are their dim_param strings. */
  readonly shape: readonly (number | string)[];
}

export interface StepGraphInfo {
  /** State tensors, sorted by name; every one has a matching `next.<name>` output. */
  readonly state: readonly IoSpec[];
  readonly batch: readonly IoSpec[];
  /** Hyperparameter names (inputs `hp.<name>`, float32 scalars), sorted. */
  readonly hyperparameters: readonly string[];
  readonly opset: number;
  readonly nodeCount: number;
  readonly graphBytes: number;
  readonly initializerBytes: number;
}

/** Decodes ModelProto bytes after the byte-size check. */
export function decodeModel(bytes: Uint8Array, limits: Partial<GraphLimits> = {}): onnx.ModelProto {
  const lim = { ...DEFAULT_GRAPH_LIMITS, ...limits };
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new GraphDecodeError("graph bytes are empty");
  if (bytes.length > lim.maxGraphBytes) {
    throw new GraphTooLargeError("graph exceeds the byte limit", { details: { bytes: bytes.length, max: lim.maxGraphBytes } });
  }
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new GraphDecodeError("graph is not a valid ONNX ModelProto", { cause });
  }
  if (!model.graph) throw new GraphDecodeError("ModelProto has no graph");
  return model;
}

/** The default-domain opset version the model imports. */
export function modelOpset(model: onnx.IModelProto, limits: Partial<GraphLimits> = {}): number {
  const lim = { ...DEFAULT_GRAPH_LIMITS, ...limits };
  let opset = -1;
  for (const o of model.opsetImport ?? []) {
    const domain = o.domain ?? "";
    if (domain !== "" && domain !== "ai.onnx") {
      throw new GraphOpNotAllowedError("opset domain not allowed", { details: { domain } });
    }
    opset = toNum(o.version);
  }
  if (opset < lim.minOpset || opset > lim.maxOpset) {
    throw new GraphOpNotAllowedError("opset version outside the allowed range", {
      details: { opset, min: lim.minOpset, max: lim.maxOpset },
    });
  }
  return opset;
}

function tensorByteLength(t: onnx.ITensorProto): number {
  const size = ELEM_BYTES.get(t.dataType ?? 0) ?? 8;
  const count = (t.dims ?? []).reduce<number>((a, d) => a * toNum(d), 1);
  return Math.max(t.rawData?.length ?? 0, count * size);
}

function checkEmbeddedTensor(t: onnx.ITensorProto, where: string): void {
  if ((t.externalData?.length ?? 0) > 0 || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new GraphExternalDataError("tensor refers to external data", { details: { tensor: t.name ?? "", where } });
  }
  if (!ELEM_TO_DTYPE.has(t.dataType ?? 0)) {
    throw new GraphDTypeError("tensor dtype not allowed", { details: { tensor: t.name ?? "", where, dataType: t.dataType } });
  }
}

function valueElemType(v: onnx.IValueInfoProto, role: string): number {
  const tt = v.type?.tensorType;
  if (!tt || tt.elemType === undefined || tt.elemType === null) {
    throw new GraphIoConventionError(`${role} is not a typed tensor`, { details: { name: v.name ?? "" } });
  }
  if (!ELEM_TO_DTYPE.has(tt.elemType)) {
    throw new GraphDTypeError(`${role} dtype not allowed`, { details: { name: v.name ?? "", elemType: tt.elemType } });
  }
  return tt.elemType;
}

export function valueDims(v: onnx.IValueInfoProto, role: string): (number | string)[] {
  const shape = v.type?.tensorType?.shape;
  if (!shape) throw new GraphIoConventionError(`${role} has no shape`, { details: { name: v.name ?? "" } });
  return (shape.dim ?? []).map((d, i) => {
    if (d.dimParam) return d.dimParam;
    const n = toNum(d.dimValue);
    if (Number.isSafeInteger(n) && n > 0) return n;
    throw new GraphIoConventionError(`${role} has an unknown or empty dim`, { details: { name: v.name ?? "", axis: i } });
  });
}

function attr(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** Output dtype of one allowed node given its input dtypes (0 = absent optional input). */
function inferNodeType(node: onnx.INodeProto, inTypes: number[]): number {
  const op = node.opType ?? "";
  if (BOOL_OUTPUT_OPS.has(op)) return ElemType.BOOL;
  switch (op) {
    case "Shape":
    case "Size":
      return ElemType.INT64;
    case "Where":
      return inTypes[1];
    case "OneHot":
      return inTypes[2];
    case "Cast": {
      const to = toNum(attr(node, "to")?.i);
      if (isFloatElem(inTypes[0]) && !isFloatElem(to)) {
        throw new GraphDTypeError("Cast from float to a non-float type is not allowed (§10.4)", {
          details: { node: node.name ?? "", from: inTypes[0], to },
        });
      }
      return to;
    }
    case "Constant": {
      const a = (node.attribute ?? [])[0];
      if ((node.attribute ?? []).length !== 1 || !a) {
        throw new GraphOpNotAllowedError("Constant needs exactly one attribute", { details: { node: node.name ?? "" } });
      }
      if (a.name === "value" && a.t) {
        checkEmbeddedTensor(a.t, `Constant ${node.name ?? ""}`);
        return a.t.dataType ?? 0;
      }
      if (a.name === "value_float" || a.name === "value_floats") return ElemType.FLOAT;
      if (a.name === "value_int" || a.name === "value_ints") return ElemType.INT64;
      throw new GraphOpNotAllowedError("Constant attribute not allowed", { details: { node: node.name ?? "", attribute: a.name } });
    }
    case "ConstantOfShape": {
      const t = attr(node, "value")?.t;
      if (t) checkEmbeddedTensor(t, `ConstantOfShape ${node.name ?? ""}`);
      return t?.dataType ?? ElemType.FLOAT;
    }
    default:
      return inTypes[0];
  }
}

/**
 * Validates `bytes` as a step graph and returns its I/O description.
 * @throws StepGraphError subclasses naming the problem.
 */
export function validateStepGraph(bytes: Uint8Array, limits: Partial<GraphLimits> = {}): StepGraphInfo {
  const lim = { ...DEFAULT_GRAPH_LIMITS, ...limits };
  const model = decodeModel(bytes, lim);
  const graph = model.graph as onnx.IGraphProto;
  const opset = modelOpset(model, lim);
  if ((model.functions?.length ?? 0) > 0) throw new GraphOpNotAllowedError("model-local functions are not allowed");
  if ((model.trainingInfo?.length ?? 0) > 0) throw new GraphOpNotAllowedError("training_info is not allowed");
  if ((graph.sparseInitializer?.length ?? 0) > 0) throw new GraphExternalDataError("sparse initializers are not allowed");
  const nodes = graph.node ?? [];
  if (nodes.length > lim.maxNodes) {
    throw new GraphTooLargeError("graph exceeds the node limit", { details: { nodes: nodes.length, max: lim.maxNodes } });
  }

  const types = new Map<string, number>();
  const define = (name: string, t: number, what: string): void => {
    if (name === "") throw new GraphStructureError(`${what} has an empty name`);
    if (types.has(name)) throw new GraphStructureError("value defined twice", { details: { name, what } });
    if (!ELEM_TO_DTYPE.has(t)) throw new GraphDTypeError("value dtype not allowed", { details: { name, what, elemType: t } });
    types.set(name, t);
  };

  let initializerBytes = 0;
  const initNames = new Set<string>();
  for (const t of graph.initializer ?? []) {
    checkEmbeddedTensor(t, "initializer");
    initializerBytes += tensorByteLength(t);
    define(t.name ?? "", t.dataType ?? 0, "initializer");
    initNames.add(t.name ?? "");
  }

  // Inputs and the convention on them.
  const state: IoSpec[] = [];
  const batch: IoSpec[] = [];
  const hps: string[] = [];
  const stateElem = new Map<string, { elem: number; dims: (number | string)[] }>();
  for (const v of graph.input ?? []) {
    const name = v.name ?? "";
    if (initNames.has(name)) continue; // IR<4 style: initializers listed as inputs are constants here
    const elem = valueElemType(v, "graph input");
    const dims = valueDims(v, "graph input");
    const dtype = ELEM_TO_DTYPE.get(elem) as DType;
    const [prefix, rest] = splitPrefix(name);
    if (rest === "") {
      throw new GraphIoConventionError("graph input must be named state.<name>, batch.<name> or hp.<name>", { details: { input: name } });
    }
    if (prefix === "state") {
      if (dims.some((d) => typeof d !== "number")) {
        throw new GraphIoConventionError("state input must have a static shape", { details: { input: name, shape: dims } });
      }
      state.push({ name: rest, dtype, shape: dims });
      stateElem.set(rest, { elem, dims });
    } else if (prefix === "batch") {
      batch.push({ name: rest, dtype, shape: dims });
    } else if (prefix === "hp") {
      if (elem !== ElemType.FLOAT || dims.length !== 0) {
        throw new GraphIoConventionError("hyperparameter input must be a float32 scalar", {
          details: { input: name, elemType: elem, shape: dims },
        });
      }
      hps.push(rest);
    } else {
      throw new GraphIoConventionError("graph input must be named state.<name>, batch.<name> or hp.<name>", { details: { input: name } });
    }
    define(name, elem, "graph input");
  }
  if (state.length === 0) throw new GraphIoConventionError("graph has no state inputs");
  if (batch.length === 0) throw new GraphIoConventionError("graph has no batch inputs");

  // Nodes: allow-list, attributes, topological order, dtypes.
  for (const node of nodes) {
    const op = node.opType ?? "";
    const domain = node.domain ?? "";
    if ((domain !== "" && domain !== "ai.onnx") || !ALLOWED_OPS.has(op)) {
      throw new GraphOpNotAllowedError("op not on the allow-list", { details: { op, domain, node: node.name ?? "" } });
    }
    if (op === "Gelu" && opset < 20) throw new GraphOpNotAllowedError("Gelu needs opset 20", { details: { node: node.name ?? "" } });
    for (const a of node.attribute ?? []) {
      if (a.g || (a.graphs?.length ?? 0) > 0 || a.refAttrName) {
        throw new GraphOpNotAllowedError("subgraph or reference attributes are not allowed", {
          details: { op, node: node.name ?? "", attribute: a.name ?? "" },
        });
      }
      if (a.t) {
        checkEmbeddedTensor(a.t, `${op} ${node.name ?? ""}`);
        initializerBytes += tensorByteLength(a.t);
      }
    }
    const inTypes = (node.input ?? []).map((i) => {
      if (i === "") return 0;
      const t = types.get(i);
      if (t === undefined) {
        throw new GraphStructureError("node input is not defined before the node (dangling or not topologically sorted)", {
          details: { op, node: node.name ?? "", input: i },
        });
      }
      return t;
    });
    const outs = node.output ?? [];
    if (outs.length !== 1) {
      throw new GraphStructureError("allowed ops have exactly one output", {
        details: { op, node: node.name ?? "", outputs: outs.length },
      });
    }
    define(outs[0], inferNodeType(node, inTypes), `${op} output`);
  }
  if (initializerBytes > lim.maxInitializerBytes) {
    throw new GraphTooLargeError("initializers exceed the byte limit", {
      details: { bytes: initializerBytes, max: lim.maxInitializerBytes },
    });
  }

  // Outputs: exactly next.<S> for every state S, plus loss.
  const seen = new Set<string>();
  for (const v of graph.output ?? []) {
    const name = v.name ?? "";
    if (seen.has(name)) throw new GraphIoConventionError("graph output listed twice", { details: { output: name } });
    seen.add(name);
    const elem = valueElemType(v, "graph output");
    const dims = valueDims(v, "graph output");
    const inferred = types.get(name);
    if (inferred === undefined) throw new GraphStructureError("graph output is never computed", { details: { output: name } });
    if (inferred !== elem) {
      throw new GraphDTypeError("graph output dtype differs from the computed dtype", {
        details: { output: name, declared: elem, computed: inferred },
      });
    }
    if (name === "loss") {
      if (elem !== ElemType.FLOAT || dims.length !== 0) {
        throw new GraphIoConventionError("loss must be a float32 scalar", { details: { elemType: elem, shape: dims } });
      }
      continue;
    }
    const [prefix, rest] = splitPrefix(name);
    const s = stateElem.get(rest);
    if (prefix !== "next" || s === undefined) {
      throw new GraphIoConventionError("graph output must be loss or next.<state name>", { details: { output: name } });
    }
    if (s.elem !== elem || s.dims.length !== dims.length || s.dims.some((d, i) => d !== dims[i])) {
      throw new GraphIoConventionError("next.<name> must have the dtype and shape of state.<name>", {
        details: { output: name, state: { elemType: s.elem, shape: s.dims }, next: { elemType: elem, shape: dims } },
      });
    }
  }
  if (!seen.has("loss")) throw new GraphIoConventionError("graph has no loss output");
  for (const s of state) {
    if (!seen.has(`next.${s.name}`))
      throw new GraphIoConventionError("state tensor has no next.<name> output", { details: { state: s.name } });
  }

  const byName = (a: IoSpec, b: IoSpec): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    state: state.sort(byName),
    batch: batch.sort(byName),
    hyperparameters: hps.sort(),
    opset,
    nodeCount: nodes.length,
    graphBytes: bytes.length,
    initializerBytes,
  };
}

function splitPrefix(name: string): [string, string] {
  const dot = name.indexOf(".");
  if (dot <= 0) return ["", ""];
  return [name.slice(0, dot), name.slice(dot + 1)];
}
