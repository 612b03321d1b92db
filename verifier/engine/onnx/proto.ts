/** Thin helpers over the onnx-proto (protobufjs) types: dtype maps, tensor/attribute/node constructors. */
import { onnx } from "onnx-proto";
import type { DType } from "../tensor";

export { onnx };

export const ElemType = onnx.TensorProto.DataType;

/** ONNX elem type → our DType (only the types a step graph may carry). */
export const ELEM_TO_DTYPE: ReadonlyMap<number, DType> = new Map<number, DType>([
  [ElemType.FLOAT, "F32"],
  [ElemType.DOUBLE, "F64"],
  [ElemType.FLOAT16, "F16"],
  [ElemType.BFLOAT16, "BF16"],
  [ElemType.INT64, "I64"],
  [ElemType.INT32, "I32"],
  [ElemType.INT16, "I16"],
  [ElemType.INT8, "I8"],
  [ElemType.UINT8, "U8"],
  [ElemType.BOOL, "BOOL"],
]);

export const ELEM_BYTES: ReadonlyMap<number, number> = new Map<number, number>([
  [ElemType.FLOAT, 4],
  [ElemType.DOUBLE, 8],
  [ElemType.FLOAT16, 2],
  [ElemType.BFLOAT16, 2],
  [ElemType.INT64, 8],
  [ElemType.INT32, 4],
  [ElemType.INT16, 2],
  [ElemType.INT8, 1],
  [ElemType.UINT8, 1],
  [ElemType.BOOL, 1],
  [ElemType.UINT16, 2],
  [ElemType.UINT32, 4],
  [ElemType.UINT64, 8],
]);

export function isFloatElem(t: number): boolean {
  return t === ElemType.FLOAT || t === ElemType.DOUBLE || t === ElemType.FLOAT16 || t === ElemType.BFLOAT16;
}

/** protobufjs decodes int64 fields as number or Long depending on what is installed. */
export type Int64Like = number | { toNumber(): number };

export function toNum(v: Int64Like | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

export function attrInt(name: string, i: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

export function tensorF32(name: string, dims: number[], values: readonly number[]): onnx.ITensorProto {
  const data = Float32Array.from(values);
  return { name, dims, dataType: ElemType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function tensorI64(name: string, dims: number[], values: readonly (number | bigint)[]): onnx.ITensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims, dataType: ElemType.INT64, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A value_info with a tensor type; string dims become symbolic (dim_param). */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export interface ModelOptions {
  opset?: number;
  irVersion?: number;
  producerName?: string;
  docString?: string;
}

export function encodeModel(graph: onnx.IGraphProto, options: ModelOptions = {}): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: options.irVersion ?? 8,
    producerName: options.producerName ?? "upow",
    producerVersion: "1",
    docString: options.docString ?? "",
    opsetImport: [{ domain: "", version: options.opset ?? 17 }],
    graph,
  };
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Accumulates nodes with generated unique value names, so graph-building code reads like math:
 * `const y = g.op("Add", [a, b])`.
 */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;
  private readonly consts = new Map<string, string>();

  constructor(readonly prefix = "") {}

  fresh(hint: string): string {
    this.counter += 1;
    return `${this.prefix}${hint}_${this.counter}`;
  }

  /** Adds one node; the output name is generated unless `out` is given. */
  op(opType: string, inputs: string[], attrs: onnx.IAttributeProto[] = [], out?: string): string {
    const output = out ?? this.fresh(opType.toLowerCase());
    this.nodes.push({ opType, domain: "", name: this.fresh(`n_${opType}`), input: inputs, output: [output], attribute: attrs });
    return output;
  }

  /** Float32 constant as an initializer, deduplicated by value. */
  f32(value: number | readonly number[], dims: number[] = []): string {
    const values = typeof value === "number" ? [value] : value;
    const key = `f32:${dims.join(",")}:${values.join(",")}`;
    const hit = this.consts.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh("const_f32");
    this.initializers.push(tensorF32(name, dims, values));
    this.consts.set(key, name);
    return name;
  }

  i64(value: number | readonly number[], dims: number[] = []): string {
    const values = typeof value === "number" ? [value] : value;
    const key = `i64:${dims.join(",")}:${values.join(",")}`;
    const hit = this.consts.get(key);
    if (hit !== undefined) return hit;
    const name = this.fresh("const_i64");
    this.initializers.push(tensorI64(name, dims, values));
    this.consts.set(key, name);
    return name;
  }

  input(name: string, elemType: number, dims: readonly (number | string)[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: readonly (number | string)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  graph(name: string): onnx.IGraphProto {
    return { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}
