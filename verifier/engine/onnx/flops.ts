/**
 * FLOPs and memory of one step by shape inference over the (validated) graph, for concrete batch
 * shapes (PROTOCOL.md §10.11: workers re-derive these and refuse a manifest that understates them).
 *
 * Counting rule (documented, not a hardware measurement): MatMul/Gemm 2·m·n·k (+ m·n for Gemm's C),
 * every elementwise op 1 per output element, reductions 1 per input element, Softmax/LogSoftmax
 * 5 per element, pure data movement (Shape, Reshape, Transpose, Gather, ...) 0.
 * Memory is a no-reuse upper bound: state + batch + constants + every intermediate value.
 * These rules are the normative cost model `upow.cost/1` (costModel.ts, docs/cost-model.md): a change
 * to what is counted here needs a new model version.
 */
import type { onnx as onnxNs } from "onnx-proto";
import { GraphShapeInferenceError } from "./errors";
import { ELEM_BYTES, ElemType, toNum } from "./proto";
import { type GraphLimits, decodeModel, modelOpset, validateStepGraph, valueDims } from "./validate";
import { BOOL_OUTPUT_OPS, ELEMENTWISE_OPS } from "./ops";

type onnxNode = onnxNs.INodeProto;

export interface StepCost {
  /** Total FLOPs of one step under the counting rule above. */
  readonly flops: number;
  readonly matmulFlops: number;
  readonly otherFlops: number;
  readonly stateBytes: number;
  readonly batchBytes: number;
  readonly constantBytes: number;
  /** Sum of the sizes of every node output (includes the next state). */
  readonly intermediateBytes: number;
  /** stateBytes + batchBytes + constantBytes + intermediateBytes. */
  readonly peakBytesUpperBound: number;
}

interface Val {
  elem: number;
  shape: number[];
  /** Known integer contents (small int64/int32 tensors: shapes, axes, indices). */
  ints?: number[];
}

const ELEMENTWISE: ReadonlySet<string> = new Set(ELEMENTWISE_OPS);
const MAX_FOLD = 4096;

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const bytesOf = (v: Val): number => count(v.shape) * (ELEM_BYTES.get(v.elem) ?? 8);

function fail(msg: string, node: onnxNode | undefined, details: Record<string, unknown> = {}): never {
  throw new GraphShapeInferenceError(msg, { details: { op: node?.opType ?? "", node: node?.name ?? "", ...details } });
}

function attr(node: onnxNode, name: string): onnxNs.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
function attrI(node: onnxNode, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? toNum(a.i) : dflt;
}
function attrIs(node: onnxNode, name: string): number[] | undefined {
  const a = attr(node, name);
  return a ? (a.ints ?? []).map((v) => toNum(v)) : undefined;
}

function broadcast(node: onnxNode, shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const x = s[s.length - rank + i] ?? 1;
      if (x !== 1) {
        if (d !== 1 && d !== x) fail("shapes do not broadcast", node, { shapes });
        d = x;
      }
    }
    out.push(d);
  }
  return out;
}

function normAxis(node: onnxNode, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail("axis out of range", node, { axis, rank });
  return a;
}

/** Integer contents of an initializer/Constant tensor, when small. */
function tensorInts(t: onnxNs.ITensorProto): number[] | undefined {
  const n = count((t.dims ?? []).map((d) => toNum(d)));
  if (n > MAX_FOLD) return undefined;
  if (t.dataType === ElemType.INT64) {
    if (t.rawData && t.rawData.length > 0) {
      const buf = Buffer.from(t.rawData);
      return Array.from({ length: n }, (_, i) => Number(buf.readBigInt64LE(i * 8)));
    }
    return (t.int64Data ?? []).map((v) => toNum(v));
  }
  if (t.dataType === ElemType.INT32) {
    if (t.rawData && t.rawData.length > 0) {
      const buf = Buffer.from(t.rawData);
      return Array.from({ length: n }, (_, i) => buf.readInt32LE(i * 4));
    }
    return [...(t.int32Data ?? [])];
  }
  return undefined;
}

function fromTensor(t: onnxNs.ITensorProto): Val {
  return { elem: t.dataType ?? 0, shape: (t.dims ?? []).map((d) => toNum(d)), ints: tensorInts(t) };
}

function known(node: onnxNode, v: Val | undefined, what: string): number[] {
  if (!v?.ints) fail(`${what} must be a constant known before running the graph`, node);
  return v.ints;
}

/**
 * Shape-infers the step graph for the given batch shapes and returns its cost.
 * @param batchShapes shape of every batch input by plain name, e.g. `{ x: [64, 784], y: [64] }`.
 * @throws StepGraphError subclasses (invalid graph) or GraphShapeInferenceError.
 */
export function estimateFlops(
  graphBytes: Uint8Array,
  batchShapes: Readonly<Record<string, readonly number[]>>,
  limits: Partial<GraphLimits> = {},
): StepCost {
  const info = validateStepGraph(graphBytes, limits);
  const model = decodeModel(graphBytes, limits);
  const opset = modelOpset(model, limits);
  const graph = model.graph as onnxNs.IGraphProto;
  const vals = new Map<string, Val>();
  let constantBytes = 0;
  for (const t of graph.initializer ?? []) {
    const v = fromTensor(t);
    vals.set(t.name ?? "", v);
    constantBytes += bytesOf(v);
  }
  let stateBytes = 0;
  let batchBytes = 0;
  for (const vi of graph.input ?? []) {
    const name = vi.name ?? "";
    if (vals.has(name)) continue;
    const elem = vi.type?.tensorType?.elemType ?? 0;
    const dims = valueDims(vi, "graph input");
    let shape: number[];
    if (name.startsWith("batch.")) {
      const given = batchShapes[name.slice(6)];
      if (!given) fail("no shape given for batch input", undefined, { input: name });
      if (
        given.length !== dims.length ||
        given.some((d, i) => !Number.isSafeInteger(d) || d < 1 || (typeof dims[i] === "number" && dims[i] !== d))
      ) {
        fail("batch shape does not fit the declared input", undefined, { input: name, declared: dims, given });
      }
      shape = [...given];
      batchBytes += count(shape) * (ELEM_BYTES.get(elem) ?? 8);
    } else {
      shape = dims as number[];
      if (name.startsWith("state.")) stateBytes += count(shape) * (ELEM_BYTES.get(elem) ?? 8);
    }
    vals.set(name, { elem, shape });
  }
  for (const b of Object.keys(batchShapes)) {
    if (!info.batch.some((s) => s.name === b)) fail("batch shape given for an input the graph does not have", undefined, { input: b });
  }

  let matmulFlops = 0;
  let otherFlops = 0;
  let intermediateBytes = 0;
  for (const node of graph.node ?? []) {
    const ins = (node.input ?? []).map((i) => (i === "" ? undefined : vals.get(i)));
    const { val, matmul, other } = inferNode(node, ins, opset);
    // A negative dimension would make counts negative and hide other nodes' cost (onnxruntime refuses it anyway).
    if (val.shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      fail("output shape has a negative or non-integer dimension", node, { shape: val.shape });
    matmulFlops += matmul;
    otherFlops += other;
    intermediateBytes += bytesOf(val);
    vals.set((node.output ?? [])[0], val);
  }
  for (const vo of graph.output ?? []) {
    const name = vo.name ?? "";
    const v = vals.get(name) as Val;
    const declared = valueDims(vo, "graph output");
    const ok = v.shape.length === declared.length && declared.every((d, i) => typeof d === "string" || d === v.shape[i]);
    if (!ok) fail("computed output shape differs from the declared shape", undefined, { output: name, declared, computed: v.shape });
  }
  return {
    flops: matmulFlops + otherFlops,
    matmulFlops,
    otherFlops,
    stateBytes,
    batchBytes,
    constantBytes,
    intermediateBytes,
    peakBytesUpperBound: stateBytes + batchBytes + constantBytes + intermediateBytes,
  };
}

function inferNode(node: onnxNode, ins: (Val | undefined)[], opset: number): { val: Val; matmul: number; other: number } {
  const op = node.opType ?? "";
  const x = ins[0];
  const need = (v: Val | undefined, i: number): Val => v ?? fail("missing input", node, { index: i });
  if (ELEMENTWISE.has(op)) {
    const present = ins.filter((v): v is Val => v !== undefined);
    const shape = broadcast(
      node,
      present.map((v) => v.shape),
    );
    const elem = BOOL_OUTPUT_OPS.has(op) ? ElemType.BOOL : op === "Where" ? need(ins[1], 1).elem : need(x, 0).elem;
    let ints: number[] | undefined;
    if (
      (op === "Add" || op === "Sub" || op === "Mul") &&
      present.length === 2 &&
      present.every((v) => v.ints) &&
      count(shape) <= MAX_FOLD
    ) {
      const [a, b] = present.map((v) => v.ints as number[]);
      const f =
        op === "Add" ? (p: number, q: number) => p + q : op === "Sub" ? (p: number, q: number) => p - q : (p: number, q: number) => p * q;
      if (a.length === b.length) ints = a.map((v, i) => f(v, b[i]));
      else if (a.length === 1) ints = b.map((v) => f(a[0], v));
      else if (b.length === 1) ints = a.map((v) => f(v, b[0]));
    }
    return { val: { elem, shape, ints }, matmul: 0, other: count(shape) };
  }
  switch (op) {
    case "MatMul": {
      const a = need(x, 0).shape;
      const b = need(ins[1], 1).shape;
      if (a.length === 0 || b.length === 0) fail("MatMul of a scalar", node);
      const a2 = a.length === 1 ? [1, a[0]] : a;
      const b2 = b.length === 1 ? [b[0], 1] : b;
      const [m, k] = a2.slice(-2);
      const [k2, n] = b2.slice(-2);
      if (k !== k2) fail("MatMul inner dimensions differ", node, { a, b });
      const batch = broadcast(node, [a2.slice(0, -2), b2.slice(0, -2)]);
      const shape = [...batch, ...(a.length === 1 ? [] : [m]), ...(b.length === 1 ? [] : [n])];
      return { val: { elem: need(x, 0).elem, shape }, matmul: 2 * m * n * k * count(batch), other: 0 };
    }
    case "Gemm": {
      const a = need(x, 0).shape;
      const b = need(ins[1], 1).shape;
      if (a.length !== 2 || b.length !== 2) fail("Gemm needs 2-D inputs", node, { a, b });
      const [m, k] = attrI(node, "transA", 0) ? [a[1], a[0]] : a;
      const [k2, n] = attrI(node, "transB", 0) ? [b[1], b[0]] : b;
      if (k !== k2) fail("Gemm inner dimensions differ", node, { a, b });
      let other = 0;
      if (ins[2]) {
        broadcast(node, [[m, n], ins[2].shape]);
        other = m * n;
      }
      return { val: { elem: need(x, 0).elem, shape: [m, n] }, matmul: 2 * m * n * k, other };
    }
    case "Transpose": {
      const s = need(x, 0).shape;
      const perm = attrIs(node, "perm") ?? s.map((_, i) => s.length - 1 - i);
      if (perm.length !== s.length) fail("Transpose perm has the wrong length", node);
      return { val: { elem: need(x, 0).elem, shape: perm.map((p) => s[normAxis(node, p, s.length)]) }, matmul: 0, other: 0 };
    }
    case "ReduceSum":
    case "ReduceMean":
    case "ReduceMax":
    case "ReduceMin": {
      const s = need(x, 0).shape;
      const axesFromInput = op === "ReduceSum" || opset >= 18;
      const axes = axesFromInput ? (ins[1] ? known(node, ins[1], "axes") : []) : (attrIs(node, "axes") ?? []);
      const keep = attrI(node, "keepdims", 1);
      const noop = attrI(node, "noop_with_empty_axes", 0);
      const red = new Set(axes.length === 0 ? (noop ? [] : s.map((_, i) => i)) : axes.map((a) => normAxis(node, a, s.length)));
      const shape = keep ? s.map((d, i) => (red.has(i) ? 1 : d)) : s.filter((_, i) => !red.has(i));
      return { val: { elem: need(x, 0).elem, shape }, matmul: 0, other: count(s) };
    }
    case "Softmax":
    case "LogSoftmax":
      return { val: { elem: need(x, 0).elem, shape: need(x, 0).shape }, matmul: 0, other: 5 * count(need(x, 0).shape) };
    case "Cast": {
      const to = attrI(node, "to", 0);
      const intTarget = to === ElemType.INT64 || to === ElemType.INT32;
      return {
        val: { elem: to, shape: need(x, 0).shape, ints: intTarget ? need(x, 0).ints : undefined },
        matmul: 0,
        other: count(need(x, 0).shape),
      };
    }
    case "Identity":
      return { val: { ...need(x, 0) }, matmul: 0, other: 0 };
    case "Shape": {
      const s = need(x, 0).shape;
      const start = normClamp(attrI(node, "start", 0), s.length);
      const end = normClamp(attrI(node, "end", s.length), s.length);
      const ints = s.slice(start, Math.max(start, end));
      return { val: { elem: ElemType.INT64, shape: [ints.length], ints }, matmul: 0, other: 0 };
    }
    case "Size":
      return { val: { elem: ElemType.INT64, shape: [], ints: [count(need(x, 0).shape)] }, matmul: 0, other: 0 };
    case "Constant": {
      const a = (node.attribute ?? [])[0];
      if (a?.t) return { val: fromTensor(a.t), matmul: 0, other: 0 };
      if (a?.name === "value_int") return { val: { elem: ElemType.INT64, shape: [], ints: [toNum(a.i)] }, matmul: 0, other: 0 };
      if (a?.name === "value_ints")
        return {
          val: { elem: ElemType.INT64, shape: [(a.ints ?? []).length], ints: (a.ints ?? []).map((v) => toNum(v)) },
          matmul: 0,
          other: 0,
        };
      if (a?.name === "value_float") return { val: { elem: ElemType.FLOAT, shape: [] }, matmul: 0, other: 0 };
      if (a?.name === "value_floats") return { val: { elem: ElemType.FLOAT, shape: [(a.floats ?? []).length] }, matmul: 0, other: 0 };
      return fail("unsupported Constant", node);
    }
    case "ConstantOfShape": {
      const shape = known(node, x, "shape");
      const t = attr(node, "value")?.t;
      return { val: { elem: t?.dataType ?? ElemType.FLOAT, shape }, matmul: 0, other: 0 };
    }
    case "Unsqueeze": {
      const v = need(x, 0);
      const axes = opset >= 13 ? known(node, ins[1], "axes") : (attrIs(node, "axes") ?? []);
      const rank = v.shape.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(node, a, rank)));
      const shape: number[] = [];
      for (let i = 0, j = 0; i < rank; i++) shape.push(set.has(i) ? 1 : v.shape[j++]);
      return { val: { elem: v.elem, shape, ints: v.ints }, matmul: 0, other: 0 };
    }
    case "Squeeze": {
      const v = need(x, 0);
      const axes = opset >= 13 ? (ins[1] ? known(node, ins[1], "axes") : undefined) : attrIs(node, "axes");
      const set = new Set(axes ? axes.map((a) => normAxis(node, a, v.shape.length)) : v.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
      return { val: { elem: v.elem, shape: v.shape.filter((_, i) => !set.has(i)), ints: v.ints }, matmul: 0, other: 0 };
    }
    case "Reshape": {
      const v = need(x, 0);
      const target = known(node, ins[1], "shape");
      const allowZero = attrI(node, "allowzero", 0);
      const shape = target.map((d, i) => (d === 0 && !allowZero ? v.shape[i] : d));
      const neg = shape.indexOf(-1);
      if (neg >= 0) {
        const rest = count(shape.filter((_, i) => i !== neg));
        if (rest === 0 || count(v.shape) % rest !== 0) fail("Reshape cannot infer -1", node, { from: v.shape, to: target });
        shape[neg] = count(v.shape) / rest;
      }
      if (count(shape) !== count(v.shape) || shape.some((d) => d < 0))
        fail("Reshape changes the element count", node, { from: v.shape, to: target });
      return { val: { elem: v.elem, shape, ints: v.ints }, matmul: 0, other: 0 };
    }
    case "Flatten": {
      const s = need(x, 0).shape;
      const axis = attrI(node, "axis", 1);
      const a = axis < 0 ? axis + s.length : axis;
      return {
        val: { elem: need(x, 0).elem, shape: [count(s.slice(0, a)), count(s.slice(a))], ints: need(x, 0).ints },
        matmul: 0,
        other: 0,
      };
    }
    case "Concat": {
      const present = ins.filter((v): v is Val => v !== undefined);
      const rank = present[0]?.shape.length ?? fail("Concat without inputs", node);
      const axis = normAxis(node, attrI(node, "axis", 0), rank);
      const shape = [...present[0].shape];
      shape[axis] = present.reduce((s, v) => s + (v.shape[axis] ?? 0), 0);
      const ints = rank === 1 && present.every((v) => v.ints) ? present.flatMap((v) => v.ints as number[]) : undefined;
      return { val: { elem: present[0].elem, shape, ints }, matmul: 0, other: 0 };
    }
    case "Gather": {
      const d = need(x, 0);
      const idx = need(ins[1], 1);
      const axis = normAxis(node, attrI(node, "axis", 0), d.shape.length);
      const shape = [...d.shape.slice(0, axis), ...idx.shape, ...d.shape.slice(axis + 1)];
      let ints: number[] | undefined;
      if (d.ints && idx.ints && d.shape.length === 1) ints = idx.ints.map((i) => (d.ints as number[])[i < 0 ? i + d.shape[0] : i]);
      return { val: { elem: d.elem, shape, ints }, matmul: 0, other: 0 };
    }
    case "OneHot": {
      const idx = need(x, 0);
      const depth = known(node, ins[1], "depth")[0];
      const rank = idx.shape.length + 1;
      const axis = normAxis(node, attrI(node, "axis", -1), rank);
      const shape = [...idx.shape.slice(0, axis), depth, ...idx.shape.slice(axis)];
      return { val: { elem: need(ins[2], 2).elem, shape }, matmul: 0, other: count(shape) };
    }
    case "Expand": {
      const v = need(x, 0);
      const shape = broadcast(node, [v.shape, known(node, ins[1], "shape")]);
      return { val: { elem: v.elem, shape }, matmul: 0, other: count(shape) };
    }
    default:
      return fail("no shape inference for this op", node);
  }
}

function normClamp(i: number, rank: number): number {
  const a = i < 0 ? i + rank : i;
  return Math.min(Math.max(a, 0), rank);
}
