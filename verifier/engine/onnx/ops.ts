/**
 * The op families the step-graph validator, the FLOP counter and the normative cost model share
 * (one list, so a new elementwise op cannot be allowed by one and unknown to another).
 */

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
  "Equal",
  "Greater",
  "Less",
  "GreaterOrEqual",
  "LessOrEqual",
  "Not",
  "And",
  "Or",
] as const;

/** Elementwise ops whose output is BOOL whatever their inputs. */
export const BOOL_OUTPUT_OPS: ReadonlySet<string> = new Set([
  "Equal",
  "Greater",
  "Less",
  "GreaterOrEqual",
  "LessOrEqual",
  "Not",
  "And",
  "Or",
]);
