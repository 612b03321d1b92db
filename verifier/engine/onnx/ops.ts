/**
 * The op families the step-graph validator, the FLOP counter and the normative cost model share
 * (one list, so a new elementwise op cannot be allowed by one and unknown to another).
 */

/** The elementwise comparisons and logic ops: their output is BOOL whatever their inputs. */
const BOOL_OUTPUT = ["Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or"] as const;

/** Elementwise ops (numpy broadcasting): 1 FLOP per output element in upow.cost/1. */
export const ELEMENTWISE_OPS = [
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Neg",
  "Abs",
  "Exp",
  "Log",
  "Sqrt",
  "Reciprocal",
  "Pow",
  "Tanh",
  "Sigmoid",
  "Relu",
  "Erf",
  "Gelu",
  "Max",
  "Min",
  "Clip",
  "Where",
  ...BOOL_OUTPUT,
] as const;

/** Elementwise ops whose output is BOOL whatever their inputs. */
export const BOOL_OUTPUT_OPS: ReadonlySet<string> = new Set(BOOL_OUTPUT);

/** Reductions over axes: 1 FLOP per input element in upow.cost/1. */
export const REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"] as const;

/** Ops that only move, reshape or create data: 0 FLOPs in upow.cost/1. */
export const DATA_MOVEMENT_OPS = [
  "Transpose",
  "Shape",
  "Size",
  "Constant",
  "ConstantOfShape",
  "Unsqueeze",
  "Squeeze",
  "Reshape",
  "Concat",
  "Gather",
  "Identity",
  "Flatten",
] as const;
