/** Public surface of the step-graph toolkit. */
export * from "./errors";
export * from "./spec";
export { buildStepGraph, type BuildStepGraphOptions } from "./builder";
export { initState, uniformStream } from "./init";
export {
  validateStepGraph, decodeModel, DEFAULT_GRAPH_LIMITS, ALLOWED_OPS, type GraphLimits, type IoSpec, type StepGraphInfo,
} from "./validate";
export { estimateFlops, type StepCost } from "./flops";
