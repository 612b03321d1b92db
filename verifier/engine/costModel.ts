/**
 * The normative cost model of a step (v3 V8.2): FLOPs and bytes per op with static shape rules,
 * versioned, and identified by `sha256(canonical JSON of its description)`. Workers, requesters and
 * verifiers derive a job's FLOPs per step and a peak-memory upper bound from the graph and the
 * manifest's batch size with it, before fetching any state or running any step (V8.1); a manifest
 * that declares less than the derivation is understated (ruled InvalidSpec).
 *
 * The rules are implemented by `estimateFlops` (onnx/flops.ts); the description below states them
 * and must change (with a new version) whenever that implementation counts differently.
 * See docs/cost-model.md.
 */
import { createHash } from "node:crypto";
import { UPowError } from "../errors";
import { canonicalJson } from "../protocol/canonicalJson";
import type { Hash } from "../protocol/hashing";
import { estimateFlops, type StepCost } from "./onnx/flops";
import { validateStepGraph } from "./onnx/validate";
import { DATA_MOVEMENT_OPS, ELEMENTWISE_OPS, REDUCE_OPS } from "./onnx/ops";

const COST_MODEL_VERSION = "upow.cost/1";

const PER_OUTPUT = "1 per output element";
const MOVE = "0 (data movement)";

/** The model's canonical description: every allowed op has exactly one FLOP rule. */
export const COST_MODEL_DESCRIPTION = {
  version: COST_MODEL_VERSION,
  shapes:
    "static only: graph inputs have fixed dims except batch dims, which take data.batchSize; every shape, axes, " +
    "depth or Reshape target is a constant known before running (initializers, Constant, Shape of a static value, " +
    "and Add/Sub/Mul/Concat/Gather/Unsqueeze/Squeeze/Reshape/Cast of known int64 values); an op whose output shape " +
    "cannot be derived so is refused, as is any negative or non-integer dimension",
  bytes: "elements × element size (float32/int32 4, float64/int64 8, float16/bfloat16 2, int8/uint8/bool 1)",
  stateBytes: "sum of the bytes of the state.* graph inputs",
  peakBytes: "upper bound without buffer reuse: state + batch + initializers/constants + the output of every node",
  flops: {
    MatMul: "2·m·n·k per broadcast batch element (numpy semantics; 1-D operands promoted)",
    Gemm: "2·m·n·k, plus m·n when C is given",
    ...Object.fromEntries([...ELEMENTWISE_OPS, "Cast", "Expand", "OneHot"].map((op) => [op, PER_OUTPUT])),
    ...Object.fromEntries(REDUCE_OPS.map((op) => [op, "1 per input element"])),
    Softmax: "5 per element",
    LogSoftmax: "5 per element",
    ...Object.fromEntries(DATA_MOVEMENT_OPS.map((op) => [op, MOVE])),
  } as Readonly<Record<string, string>>,
  flopsPerStep: "sum over nodes, rounded up to an integer",
} as const;

/** The model's identity as the manifest carries it. */
export interface CostModelId {
  readonly version: string;
  readonly hash: Hash;
}

export const COST_MODEL: CostModelId = {
  version: COST_MODEL_VERSION,
  hash: `0x${createHash("sha256").update(canonicalJson(COST_MODEL_DESCRIPTION)).digest("hex")}`,
};

/** Base of every refusal on cost grounds; nothing of the job was run. */
class StepCostError extends UPowError {
  override readonly name: string = "StepCostError";
}

/** The manifest names a cost model this code does not implement. */
export class CostModelMismatchError extends StepCostError {
  override readonly name: string = "CostModelMismatchError";
}

/** The graph cannot be costed (invalid, or a shape that is not static). */
export class StepCostUnderivableError extends StepCostError {
  override readonly name: string = "StepCostUnderivableError";
}

/** A declared FLOPs-per-step or state size is below what the cost model derives (V8.2: InvalidSpec). */
export class StepCostUnderstatedError extends StepCostError {
  override readonly name: string = "StepCostUnderstatedError";
}

/** The derived cost is above what this node accepts to run (V8.1). */
export class StepCostAboveCapError extends StepCostError {
  override readonly name: string = "StepCostAboveCapError";
}

/** A job's cost under the model, with exact integers for comparison against declared values. */
export interface DerivedStepCost {
  readonly model: CostModelId;
  readonly flopsPerStep: bigint;
  readonly stateBytes: bigint;
  readonly peakBytes: bigint;
  readonly detail: StepCost;
}

/** Rounds a derived quantity up; a non-finite one (overflowed) counts as unbounded. */
function up(x: number): bigint {
  return Number.isFinite(x) ? BigInt(Math.ceil(x)) : 2n ** 256n;
}

/**
 * Derives FLOPs per step, state bytes and the peak-memory bound of a step graph for a batch size,
 * from the graph alone (no state, no data). The manifest's cost model, when named, must be this one.
 * @throws CostModelMismatchError, StepCostUnderivableError
 */
export function deriveStepCost(graph: Uint8Array, batchSize: number, named?: CostModelId): DerivedStepCost {
  if (named && (named.version !== COST_MODEL.version || named.hash.toLowerCase() !== COST_MODEL.hash)) {
    throw new CostModelMismatchError("the manifest names a cost model this node does not implement", {
      details: { named: named.version, namedHash: named.hash, implemented: COST_MODEL.version, implementedHash: COST_MODEL.hash },
    });
  }
  let detail: StepCost;
  try {
    const info = validateStepGraph(graph);
    const shapes: Record<string, number[]> = {};
    for (const b of info.batch) shapes[b.name] = b.shape.map((d) => (typeof d === "number" ? d : batchSize));
    detail = estimateFlops(graph, shapes);
  } catch (cause) {
    throw new StepCostUnderivableError(
      `the step graph cannot be costed: ${cause instanceof UPowError ? cause.shortMessage : String(cause)}`,
      {
        cause,
        details: cause instanceof UPowError ? cause.details : undefined,
      },
    );
  }
  return {
    model: COST_MODEL,
    flopsPerStep: up(detail.flops),
    stateBytes: up(detail.stateBytes),
    peakBytes: up(detail.peakBytesUpperBound),
    detail,
  };
}

/** What one party declares (the manifest, the on-chain job). */
export interface DeclaredStepCost {
  readonly source: string;
  readonly flopsPerStep: bigint;
  readonly stateBytes: bigint;
}

/** What this node accepts to run at all. */
export interface StepCostCaps {
  readonly maxFlopsPerStep: bigint;
  readonly maxPeakBytes: bigint;
}

/**
 * Pure check of a derived cost against every declaration and this node's caps. Understatement is
 * checked first: it is the worker's and requester's fault (InvalidSpec), a cap is only ours.
 * @throws StepCostUnderstatedError, StepCostAboveCapError
 */
export function checkStepCost(cost: DerivedStepCost, declared: readonly DeclaredStepCost[], caps: StepCostCaps): void {
  for (const d of declared) {
    for (const [field, derived, stated] of [
      ["flopsPerStep", cost.flopsPerStep, d.flopsPerStep],
      ["stateBytes", cost.stateBytes, d.stateBytes],
    ] as const) {
      if (stated < derived) {
        throw new StepCostUnderstatedError(`${d.source} declares ${field} ${stated}, the cost model derives ${derived}`, {
          details: { source: d.source, field, declared: stated, derived, model: cost.model.version },
        });
      }
    }
  }
  if (cost.flopsPerStep > caps.maxFlopsPerStep) {
    throw new StepCostAboveCapError(`the step needs ${cost.flopsPerStep} FLOPs, above this node's cap ${caps.maxFlopsPerStep}`, {
      details: { field: "flopsPerStep", derived: cost.flopsPerStep, cap: caps.maxFlopsPerStep },
    });
  }
  if (cost.peakBytes > caps.maxPeakBytes) {
    throw new StepCostAboveCapError(`the step may need ${cost.peakBytes} bytes of memory, above this node's cap ${caps.maxPeakBytes}`, {
      details: { field: "peakBytes", derived: cost.peakBytes, cap: caps.maxPeakBytes },
    });
  }
}
