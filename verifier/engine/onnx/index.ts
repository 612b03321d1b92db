/** Public surface of the step-graph toolkit. */
export * from "./errors";
export { defaultHyperparameters, hyperparameterNames, stateLayout, type Activation, type ModelSpec, type OptimizerKind } from "./spec";
export { buildStepGraph } from "./builder";
export { initState } from "./init";
export { validateStepGraph, decodeModel } from "./validate";
export { estimateFlops } from "./flops";
