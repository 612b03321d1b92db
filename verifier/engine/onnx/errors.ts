import { UPowError } from "../../errors";

/** Base of every step-graph problem (decoding, allow-list, limits, I/O convention, inference). */
export class StepGraphError extends UPowError {
  override readonly name: string = "StepGraphError";
}

/** The bytes are not a decodable ONNX ModelProto. */
export class GraphDecodeError extends StepGraphError {
  override readonly name: string = "GraphDecodeError";
}

/** A size limit (bytes, nodes, initializer bytes, values) is exceeded. */
export class GraphTooLargeError extends StepGraphError {
  override readonly name: string = "GraphTooLargeError";
}

/** A node uses an op, domain, opset or attribute that is not on the allow-list (§10.4). */
export class GraphOpNotAllowedError extends StepGraphError {
  override readonly name: string = "GraphOpNotAllowedError";
}

/** A tensor refers to external data, or the model carries functions/sparse/training sections. */
export class GraphExternalDataError extends StepGraphError {
  override readonly name: string = "GraphExternalDataError";
}

/** Inputs/outputs break the `state.* / batch.* / hp.* -> next.* / loss` convention. */
export class GraphIoConventionError extends StepGraphError {
  override readonly name: string = "GraphIoConventionError";
}

/** A value uses a dtype that is not allowed, or a Cast converts float to int. */
export class GraphDTypeError extends StepGraphError {
  override readonly name: string = "GraphDTypeError";
}

/** Structure problems: dangling inputs, duplicate outputs, nodes out of topological order. */
export class GraphStructureError extends StepGraphError {
  override readonly name: string = "GraphStructureError";
}

/** Shapes cannot be inferred (needed to price a step: FLOPs and memory, §10.11). */
export class GraphShapeInferenceError extends StepGraphError {
  override readonly name: string = "GraphShapeInferenceError";
}

/** A ModelSpec for the builder is malformed. */
export class ModelSpecError extends UPowError {
  override readonly name: string = "ModelSpecError";
}
