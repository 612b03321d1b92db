/**
 * A job's loss curve and test accuracy, from what is committed on chain: the result index (its
 * sha256 is the resultURI's address; it must rebuild the on-chain checkpoint root), every
 * checkpoint state it names (fileHash-checked), and the manifest (specHash-checked). Each
 * checkpoint is evaluated on the job's held-out MNIST digits: the split that `prepareMnistJob` and
 * the demo use (the first 1,000 of the seed's permutation, never trained on). Workers publish no
 * losses of their own, so nothing here takes a worker's word for a number.
 */
import type { ArtifactClient } from "../daemon/check/artifacts";
import { mnistTestBatch, MNIST_PIXELS } from "../engine/data";
import { evaluateMlp } from "../engine/evaluate";
import { parseManifest } from "../engine/manifest";
import type { Activation, ModelSpec } from "../engine/onnx/spec";
import { decodeModel } from "../engine/onnx/validate";
import type { TensorMap } from "../engine/tensor";
import type { Hash } from "../protocol/hashing";
import { parseResultIndex } from "../protocol/resultIndex";
import { UPowError } from "../errors";
import type { CheckpointEval, ResultView } from "./model";

class ResultEvaluationError extends UPowError {
  override readonly name = "ResultEvaluationError";
}

const MAX_INDEX_BYTES = 64 << 20;
const MAX_MANIFEST_BYTES = 1 << 20;
const MAX_GRAPH_BYTES = 64 << 20;

export interface EvaluateResultParameters {
  client: ArtifactClient;
  jobId: bigint;
  resultURI: string;
  specURI: string;
  /** On-chain values the fetched files must match. */
  specHash: Hash;
  checkpointRoot: Hash;
  finalStateHash: Hash;
}

export async function evaluateResult(p: EvaluateResultParameters): Promise<ResultView> {
  try {
    const index = parseResultIndex(await p.client.fetchUri(p.resultURI, "result index", MAX_INDEX_BYTES), {
      expect: { jobId: p.jobId, checkpointRoot: p.checkpointRoot, finalStateHash: p.finalStateHash },
    });
    const manifest = parseManifest(await p.client.fetchUri(p.specURI, "manifest", MAX_MANIFEST_BYTES), { expectedSpecHash: p.specHash });
    const graph = await p.client.fetch(manifest.graph.sha256, [manifest.graph.uri], "step graph", MAX_GRAPH_BYTES);
    const activation = activationOf(graph);
    const maxStateBytes = Number(manifest.stateBytes) * 2 + 4096;
    const testSet = mnistTestBatch(manifest.seed);
    const checkpoints: CheckpointEval[] = [];
    for (let i = 0; i < index.checkpoints.length; i++) {
      const c = index.checkpoints[i]!;
      const { state } = await p.client.fetchState(c.stateHash, c.sha256, index.artifactBaseUrls, `checkpoint ${i}`, maxStateBytes);
      const r = evaluateMlp(mlpSpec(state, activation), state, testSet);
      checkpoints.push({ step: i * index.k, loss: r.loss, accuracy: r.accuracy });
    }
    const last = checkpoints[checkpoints.length - 1]!;
    return { state: "ok", T: index.T, k: index.k, checkpoints, testAccuracy: last.accuracy, testCount: testSet.get("y")!.shape[0]! };
  } catch (e) {
    return { state: "error", error: e instanceof UPowError ? `${e.name}: ${e.shortMessage}` : String(e) };
  }
}

/** The MLP a state holds: layer widths from `fc<i>.weight` [out, in]; MNIST input and 10 classes. */
export function mlpSpec(state: TensorMap, activation: Activation | null): ModelSpec {
  const layers: number[] = [];
  for (let i = 1; ; i++) {
    const w = state.get(`fc${i}.weight`);
    if (w === undefined) break;
    if (w.shape.length !== 2) throw new ResultEvaluationError(`fc${i}.weight is not a matrix`, { details: { shape: w.shape } });
    if (i === 1) layers.push(w.shape[1]!);
    else if (w.shape[1] !== layers[layers.length - 1])
      throw new ResultEvaluationError(`fc${i}.weight does not follow fc${i - 1}`, { details: { shape: w.shape } });
    layers.push(w.shape[0]!);
  }
  if (layers.length < 2 || layers[0] !== MNIST_PIXELS || layers[layers.length - 1] !== 10) {
    throw new ResultEvaluationError("not an MNIST MLP (fc1 … fcN from 784 inputs to 10 classes): no test curve", { details: { layers } });
  }
  if (activation === null && layers.length > 2)
    throw new ResultEvaluationError("the step graph applies no known activation (Relu, Tanh, Erf)");
  // The optimizer does not enter a forward pass; a model without a hidden layer has no activation.
  return { layers, activation: activation ?? "relu", optimizer: "sgd" };
}

/** The hidden activation the step graph applies (builder.ts: Relu, Tanh, or GELU through Erf). */
export function activationOf(graph: Uint8Array): Activation | null {
  const ops = new Set((decodeModel(graph).graph?.node ?? []).map((n) => n.opType));
  if (ops.has("Erf")) return "gelu";
  if (ops.has("Tanh")) return "tanh";
  if (ops.has("Relu")) return "relu";
  return null;
}
