/**
 * The trained model as files an application can use: the final weights as safetensors (optimizer
 * slots left out) and an inference-only ONNX graph (input → probabilities, label) that
 * onnxruntime runs, cut from the job's own step graph (engine/onnx/inference.ts).
 */
import { writeSafetensors, readSafetensors } from "../engine/safetensors";
import { buildInferenceGraph, INFERENCE_INPUT, INFERENCE_LABEL, INFERENCE_PROBABILITIES } from "../engine/onnx/inference";
import type { Hash } from "../protocol/hashing";
import { withResult, type JobReadOptions } from "./result";

export interface DownloadedModel {
  readonly jobId: bigint;
  /** The committed final state hash the weights come from. */
  readonly finalStateHash: Hash;
  /** The weights the forward pass reads, as a safetensors file (PyTorch layout: weight [out, in]). */
  readonly safetensors: Buffer;
  /** ONNX ModelProto bytes with the weights inside. */
  readonly onnx: Uint8Array;
  /** Graph input: float32 [batch, features]. */
  readonly inputName: typeof INFERENCE_INPUT;
  /** Graph outputs: float32 [batch, classes] softmax probabilities, int64 [batch] predicted class. */
  readonly outputNames: { readonly probabilities: typeof INFERENCE_PROBABILITIES; readonly label: typeof INFERENCE_LABEL };
}

/** Fetches the job's final state (checked against the chain) and turns it into model files. */
export async function downloadModel(o: JobReadOptions): Promise<DownloadedModel> {
  return withResult(o, async (r) => {
    const last = r.index.checkpoints[r.index.checkpoints.length - 1]!;
    const state = readSafetensors(await r.state({ stateHash: r.finalStateHash, sha256: last.sha256 }));
    const g = buildInferenceGraph(r.graph, state);
    return {
      jobId: o.jobId,
      finalStateHash: r.finalStateHash,
      safetensors: writeSafetensors(g.weights),
      onnx: g.onnx,
      inputName: INFERENCE_INPUT,
      outputNames: { probabilities: INFERENCE_PROBABILITIES, label: INFERENCE_LABEL },
    };
  });
}
