/** In-memory tensors shared by the safetensors codec, the ONNX runner and the tolerance checks. */

export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export type TensorData = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Little-endian element storage; F16/BF16 are raw Uint16 bit patterns, BOOL is Uint8. */
  readonly data: TensorData;
}

/** Tensors by name. Canonical files sort by name; maps are iterated in sorted order where it matters. */
export type TensorMap = Map<string, Tensor>;

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isFloatDType(dtype: DType): boolean {
  return dtype === "F64" || dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
