import { expect } from "chai";
import fc from "fast-check";
import {
  encodeFrame,
  f64ToHex,
  FrameReader,
  hexToF64,
  readTensors,
  StepFrameError,
  tensorParts,
} from "../../../verifier/engine/stepFrames";
import type { TensorMap } from "../../../verifier/engine/tensor";

describe("step frames (the runner's pipe protocol)", function () {
  const state: TensorMap = new Map([
    ["w", { dtype: "F32", shape: [2, 3], data: Float32Array.of(1, -0, NaN, Infinity, 5e-45, 6) }],
    ["step", { dtype: "I64", shape: [], data: BigInt64Array.of(-(2n ** 63n)) }],
    ["flag", { dtype: "BOOL", shape: [3], data: Uint8Array.of(1, 0, 1) }],
  ]);
  const batch: TensorMap = new Map([["x", { dtype: "F64", shape: [1], data: Float64Array.of(Math.PI) }]]);

  it("reassembles frames split at any byte, tensors bit-exact and aligned", function () {
    const { tensors, parts } = tensorParts({ state, batch });
    const bytes = Buffer.concat([...encodeFrame({ kind: "a", tensors }, parts), ...encodeFrame({ kind: "b" })]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
        const reader = new FrameReader<{ kind: string; tensors?: typeof tensors; payloadBytes: number }>();
        const frames = [];
        let at = 0;
        for (const c of [...cuts.sort((a, b) => a - b), bytes.length]) {
          frames.push(...reader.push(bytes.subarray(at, c)));
          at = c;
        }
        expect(frames.map((f) => f.header.kind)).to.deep.equal(["a", "b"]);
        const sets = readTensors(frames[0]!.header.tensors!, frames[0]!.payload);
        for (const [set, map] of [
          ["state", state],
          ["batch", batch],
        ] as const) {
          for (const [name, t] of map) {
            const got = sets.get(set)!.get(name)!;
            expect(got.dtype).to.equal(t.dtype);
            expect(got.shape).to.deep.equal(t.shape);
            expect(got.data.constructor).to.equal(t.data.constructor);
            expect(Buffer.from(got.data.buffer).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).to.equal(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("carries a loss of NaN, ±Infinity and -0 exactly", function () {
    for (const x of [NaN, Infinity, -Infinity, -0, 0.1]) expect(Object.is(hexToF64(f64ToHex(x)), x)).to.equal(true);
  });

  it("refuses a payload shorter than its tensors and an absurd header length", function () {
    const { tensors } = tensorParts({ state });
    expect(() => readTensors(tensors, [Buffer.alloc(3)])).to.throw(StepFrameError, "shorter");
    const len = Buffer.alloc(4);
    len.writeUInt32LE(0xffffffff);
    expect(() => new FrameReader().push(len)).to.throw(StepFrameError, "header too long");
  });
});
