/**
 * Running a downloaded inference graph on onnxruntime (CPU): accuracy and mean cross-entropy of a
 * labelled set, and the MNIST held-out test split a prepareMnistJob job leaves out of training.
 */
import * as ort from "onnxruntime-node";
import type { Hash } from "../protocol/hashing";
import { mnistTestBatch, MNIST_PIXELS, MNIST_TEST_SIZE } from "../engine/data";
import { INFERENCE_INPUT, INFERENCE_LABEL, INFERENCE_PROBABILITIES } from "../engine/onnx/inference";
import { SdkInputError } from "./errors";

/** A labelled set: `count` rows of `features` float32 inputs, one integer label each. */
export interface LabelledSet {
  readonly x: Float32Array;
  readonly y: BigInt64Array;
  readonly count: number;
  readonly features: number;
}

export interface Evaluation {
  /** Share of rows whose predicted label is the true one. */
  readonly accuracy: number;
  /** Mean cross-entropy, −log p(true label). */
  readonly loss: number;
  readonly count: number;
}

/** The held-out MNIST test samples of a prepareMnistJob job with this seed (never in its training batches). */
export function mnistTestSet(seed: Hash): LabelledSet {
  const t = mnistTestBatch(seed);
  return { x: t.get("x")!.data as Float32Array, y: t.get("y")!.data as BigInt64Array, count: MNIST_TEST_SIZE, features: MNIST_PIXELS };
}

function checkSet(set: LabelledSet): void {
  if (!Number.isSafeInteger(set.count) || set.count < 1) throw new SdkInputError("testSet.count", "must be a positive integer", set.count);
  if (!Number.isSafeInteger(set.features) || set.features < 1)
    throw new SdkInputError("testSet.features", "must be a positive integer", set.features);
  if (!(set.x instanceof Float32Array) || set.x.length !== set.count * set.features)
    throw new SdkInputError("testSet.x", "must be a Float32Array of count × features values");
  if (!(set.y instanceof BigInt64Array) || set.y.length !== set.count)
    throw new SdkInputError("testSet.y", "must be a BigInt64Array of count labels");
}

/** Runs the inference graph (downloadModel's `onnx`) on `set` with onnxruntime. */
export async function evaluateModel(onnx: Uint8Array, set: LabelledSet): Promise<Evaluation> {
  checkSet(set);
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  try {
    const out = await session.run({ [INFERENCE_INPUT]: new ort.Tensor("float32", set.x, [set.count, set.features]) });
    const probs = out[INFERENCE_PROBABILITIES]!.data as Float32Array;
    const labels = out[INFERENCE_LABEL]!.data as BigInt64Array;
    const classes = probs.length / set.count;
    let correct = 0;
    let loss = 0;
    for (let r = 0; r < set.count; r++) {
      const y = Number(set.y[r]);
      if (labels[r] === set.y[r]) correct++;
      loss -= Math.log(Math.max(probs[r * classes + y]!, 1e-30));
    }
    return { accuracy: correct / set.count, loss: loss / set.count, count: set.count };
  } finally {
    await session.release();
  }
}
