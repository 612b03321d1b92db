/**
 * The inference-only graph of a trained model, cut out of its training step graph: the nodes the
 * logits depend on (the input of the step's one LogSoftmax), the `state.*` tensors they read baked
 * in as initializers, `batch.x` renamed `input`, and two outputs, `probabilities` (Softmax) and
 * `label` (ArgMax). Cut rather than rebuilt, so the forward pass is the very arithmetic the
 * committed training ran, for any step graph that follows the I/O convention.
 */
import { ElemType, attrInt, encodeModel, onnx, toNum, valueInfo, ELEM_TO_DTYPE } from "./proto";
import { StepGraphError } from "./errors";
import type { Tensor, TensorMap } from "../tensor";

/** The step graph has no single forward pass to cut out, or the state lacks what it reads. */
export class InferenceGraphError extends StepGraphError {
  override readonly name = "InferenceGraphError";
}

export const INFERENCE_INPUT = "input";
export const INFERENCE_PROBABILITIES = "probabilities";
export const INFERENCE_LABEL = "label";

export interface InferenceGraph {
  /** ONNX ModelProto bytes: `input` float32 [B, features] → `probabilities` [B, classes], `label` int64 [B]. */
  readonly onnx: Uint8Array;
  /** The state tensors the forward pass reads (the weights; optimizer slots left out), by state name. */
  readonly weights: TensorMap;
}

function tensorProto(name: string, t: Tensor): onnx.ITensorProto {
  const dataType = [...ELEM_TO_DTYPE].find(([, d]) => d === t.dtype)?.[0];
  if (dataType === undefined)
    throw new InferenceGraphError("state tensor has a dtype ONNX initializers cannot carry", { details: { name, dtype: t.dtype } });
  const d = t.data;
  return { name, dims: [...t.shape], dataType, rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}

/** Cuts the forward pass out of `stepGraph` and bakes `state` (a state file of that graph) into it. */
export function buildInferenceGraph(stepGraph: Uint8Array, state: TensorMap): InferenceGraph {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(stepGraph);
  } catch (cause) {
    throw new InferenceGraphError("the step graph is not an ONNX model", { cause });
  }
  const g = model.graph;
  const nodes = g?.node ?? [];
  const heads = nodes.filter((n) => n.opType === "LogSoftmax");
  if (g === null || g === undefined || heads.length !== 1) {
    throw new InferenceGraphError("the step graph must hold exactly one LogSoftmax (its input is the logits)", {
      details: { found: heads.length },
    });
  }
  const head = heads[0]!;
  const logits = head.input![0]!;
  const axisAttr = head.attribute?.find((a) => a.name === "axis");
  const axis = axisAttr ? toNum(axisAttr.i) : -1;

  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const needed = new Set<onnx.INodeProto>();
  const leaves = new Set<string>();
  const todo = [logits];
  const seen = new Set<string>();
  while (todo.length > 0) {
    const v = todo.pop()!;
    if (v === "" || seen.has(v)) continue;
    seen.add(v);
    const p = producer.get(v);
    if (p === undefined) leaves.add(v);
    else {
      needed.add(p);
      todo.push(...(p.input ?? []));
    }
  }

  const constants = new Map((g.initializer ?? []).map((t) => [t.name ?? "", t]));
  const graphInputs = new Map((g.input ?? []).map((i) => [i.name ?? "", i]));
  const initializers: onnx.ITensorProto[] = [];
  const weights: TensorMap = new Map();
  let input: onnx.IValueInfoProto | undefined;
  for (const name of [...leaves].sort()) {
    const c = constants.get(name);
    if (c !== undefined) initializers.push(c);
    else if (name.startsWith("state.")) {
      const t = state.get(name.slice("state.".length));
      if (t === undefined)
        throw new InferenceGraphError("the state lacks a tensor the forward pass reads", {
          details: { tensor: name.slice("state.".length) },
        });
      weights.set(name.slice("state.".length), t);
      initializers.push(tensorProto(name, t));
    } else if (name === "batch.x" && graphInputs.has(name)) input = graphInputs.get(name);
    else throw new InferenceGraphError("the forward pass reads an input that is neither state nor batch.x", { details: { input: name } });
  }
  if (input === undefined) throw new InferenceGraphError("the forward pass does not read batch.x");

  const rename = (v: string): string => (v === "batch.x" ? INFERENCE_INPUT : v);
  const kept = nodes.filter((n) => needed.has(n)).map((n) => ({ ...n, input: (n.input ?? []).map(rename) }));
  kept.push(
    {
      opType: "Softmax",
      domain: "",
      name: "infer_softmax",
      input: [logits],
      output: [INFERENCE_PROBABILITIES],
      attribute: [attrInt("axis", axis)],
    },
    {
      opType: "ArgMax",
      domain: "",
      name: "infer_argmax",
      input: [logits],
      output: [INFERENCE_LABEL],
      attribute: [attrInt("axis", axis), attrInt("keepdims", 0)],
    },
  );
  const inDims = input.type?.tensorType?.shape?.dim ?? [];
  const batch = inDims[0]?.dimParam || (inDims[0]?.dimValue ? toNum(inDims[0].dimValue) : "B");
  const features = inDims[1]?.dimValue ? toNum(inDims[1].dimValue) : "features";
  const graph: onnx.IGraphProto = {
    name: "upow_mlp_inference",
    node: kept,
    initializer: initializers,
    input: [valueInfo(INFERENCE_INPUT, ElemType.FLOAT, [batch, features])],
    output: [valueInfo(INFERENCE_PROBABILITIES, ElemType.FLOAT, [batch, "classes"]), valueInfo(INFERENCE_LABEL, ElemType.INT64, [batch])],
  };
  const opset = (model.opsetImport ?? []).find((o) => (o.domain ?? "") === "");
  return {
    onnx: encodeModel(graph, {
      opset: opset ? toNum(opset.version) : 17,
      irVersion: toNum(model.irVersion) || 8,
      docString: `inference graph cut from: ${model.docString ?? ""}`,
    }),
    weights,
  };
}
