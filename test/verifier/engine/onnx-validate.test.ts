import { expect } from "chai";
import {
  GraphDTypeError,
  GraphDecodeError,
  GraphExternalDataError,
  GraphIoConventionError,
  GraphOpNotAllowedError,
  GraphStructureError,
  GraphTooLargeError,
  StepGraphError,
  buildStepGraph,
  validateStepGraph,
  type ModelSpec,
} from "../../../verifier/engine/onnx";
import { ElemType, attrInt, onnx, tensorF32, valueInfo } from "../../../verifier/engine/onnx/proto";
import { UPowError } from "../../../verifier/errors";

const SPEC: ModelSpec = { layers: [8, 6, 3], activation: "relu", optimizer: "adam" };

/** Decodes the built graph, lets `edit` change it, re-encodes. */
function mutate(edit: (m: onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(buildStepGraph(SPEC));
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

function graphOf(m: onnx.ModelProto): onnx.GraphProto {
  return m.graph as onnx.GraphProto;
}

/** Replaces the producer of `loss` (a Neg) with `node` computing `loss` from its first input. */
function insertBeforeLoss(m: onnx.ModelProto, nodes: onnx.INodeProto[]): void {
  const g = graphOf(m);
  const idx = g.node.findIndex((n) => (n.output ?? [])[0] === "loss");
  g.node.splice(idx, 0, ...nodes.map((n) => onnx.NodeProto.create(n)));
}

function expectReject(bytes: Uint8Array, type: new (...args: never[]) => StepGraphError, fragment: string): void {
  let err: unknown;
  try {
    validateStepGraph(bytes);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${type.name}`).to.be.instanceOf(type);
  expect(err).to.be.instanceOf(UPowError);
  expect((err as Error).message).to.contain(fragment);
}

describe("onnx step-graph validation", function () {
  it("accepts the builder's graphs for every optimizer", function () {
    for (const optimizer of ["sgd", "momentum", "adam"] as const) {
      expect(() => validateStepGraph(buildStepGraph({ ...SPEC, optimizer }))).not.to.throw();
    }
  });

  describe("when the bytes or sizes are wrong", function () {
    it("rejects bytes that are not a ModelProto", function () {
      expectReject(Uint8Array.from([0xff, 0xff, 0xff, 0x0f, 0x22]), GraphDecodeError, "not a valid ONNX ModelProto");
      expectReject(new Uint8Array(0), GraphDecodeError, "empty");
    });

    it("rejects a graph over the byte, node and initializer limits", function () {
      const bytes = buildStepGraph(SPEC);
      expect(() => validateStepGraph(bytes, { maxGraphBytes: 100 })).to.throw(GraphTooLargeError, "byte limit");
      expect(() => validateStepGraph(bytes, { maxNodes: 10 })).to.throw(GraphTooLargeError, "node limit");
      const big = mutate((m) => graphOf(m).initializer.push(onnx.TensorProto.create(tensorF32("big", [1000], new Array(1000).fill(1)))));
      expect(() => validateStepGraph(big, { maxInitializerBytes: 2000 })).to.throw(GraphTooLargeError, "initializers exceed");
    });

    it("rejects external data", function () {
      const bytes = mutate((m) => {
        const t = graphOf(m).initializer[0];
        t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
        t.externalData = [onnx.StringStringEntryProto.create({ key: "location", value: "weights.bin" })];
        t.rawData = new Uint8Array(0);
      });
      expectReject(bytes, GraphExternalDataError, "external data");
    });

    it("rejects model-local functions", function () {
      expectReject(
        mutate((m) => m.functions.push(onnx.FunctionProto.create({ name: "f", domain: "custom" }))),
        GraphOpNotAllowedError,
        "functions",
      );
    });
  });

  describe("when ops are not allowed", function () {
    for (const op of ["ArgMax", "TopK", "RandomNormalLike", "Loop", "If", "Scan", "Dropout"]) {
      it(`rejects ${op}`, function () {
        const bytes = mutate((m) => insertBeforeLoss(m, [{ opType: op, name: "bad", input: ["batch.x"], output: ["bad_out"] }]));
        expectReject(bytes, GraphOpNotAllowedError, "allow-list");
      });
    }

    it("rejects a node from a custom domain", function () {
      const bytes = mutate((m) =>
        insertBeforeLoss(m, [{ opType: "Relu", domain: "com.microsoft", name: "ms", input: ["batch.x"], output: ["ms_out"] }]),
      );
      expectReject(bytes, GraphOpNotAllowedError, "allow-list");
    });

    it("rejects opsets outside [13, 21] and foreign opset domains", function () {
      expectReject(
        mutate((m) => {
          m.opsetImport[0].version = 11;
        }),
        GraphOpNotAllowedError,
        "opset version",
      );
      expectReject(
        mutate((m) => {
          m.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: "com.microsoft", version: 1 }));
        }),
        GraphOpNotAllowedError,
        "opset domain",
      );
    });

    it("rejects a Cast from float to int64 but not int64 to float", function () {
      const bad = mutate((m) =>
        insertBeforeLoss(m, [
          { opType: "Cast", name: "f2i", input: ["batch.x"], output: ["xi"], attribute: [attrInt("to", ElemType.INT64)] },
        ]),
      );
      expectReject(bad, GraphDTypeError, "Cast from float");
      const good = mutate((m) =>
        insertBeforeLoss(m, [
          { opType: "Cast", name: "i2f", input: ["batch.y"], output: ["yf"], attribute: [attrInt("to", ElemType.FLOAT)] },
        ]),
      );
      expect(() => validateStepGraph(good)).not.to.throw();
    });
  });

  describe("when the structure is broken", function () {
    it("rejects a dangling node input", function () {
      const bytes = mutate((m) => insertBeforeLoss(m, [{ opType: "Relu", name: "d", input: ["nowhere"], output: ["d_out"] }]));
      expectReject(bytes, GraphStructureError, "not defined before");
    });

    it("rejects nodes out of topological order", function () {
      expectReject(
        mutate((m) => graphOf(m).node.reverse()),
        GraphStructureError,
        "not defined before",
      );
    });

    it("rejects a value defined twice", function () {
      const bytes = mutate((m) => insertBeforeLoss(m, [{ opType: "Relu", name: "dup", input: ["batch.x"], output: ["state.fc1.bias"] }]));
      expectReject(bytes, GraphStructureError, "defined twice");
    });
  });

  describe("when the I/O convention is broken", function () {
    it("rejects a missing next.<state> output", function () {
      expectReject(
        mutate((m) => {
          graphOf(m).output = graphOf(m).output.filter((o) => o.name !== "next.adam.step");
        }),
        GraphIoConventionError,
        "no next.<name> output",
      );
    });

    it("rejects next.<state> with another shape", function () {
      const bytes = mutate((m) => {
        const o = graphOf(m).output.find((v) => v.name === "next.fc1.bias") as onnx.ValueInfoProto;
        Object.assign(o, valueInfo("next.fc1.bias", ElemType.FLOAT, [7]));
      });
      expectReject(bytes, GraphIoConventionError, "dtype and shape of state");
    });

    it("rejects an output dtype that differs from the computed one", function () {
      const bytes = mutate((m) => {
        const o = graphOf(m).output.find((v) => v.name === "next.adam.step") as onnx.ValueInfoProto;
        Object.assign(o, valueInfo("next.adam.step", ElemType.FLOAT, []));
      });
      expectReject(bytes, GraphDTypeError, "differs from the computed dtype");
    });

    it("rejects a non-scalar loss and a missing loss", function () {
      const bytes = mutate((m) => {
        const o = graphOf(m).output.find((v) => v.name === "loss") as onnx.ValueInfoProto;
        Object.assign(o, valueInfo("loss", ElemType.FLOAT, [1]));
      });
      expectReject(bytes, GraphIoConventionError, "loss must be a float32 scalar");
      expectReject(
        mutate((m) => {
          graphOf(m).output = graphOf(m).output.filter((o) => o.name !== "loss");
        }),
        GraphIoConventionError,
        "no loss",
      );
    });

    it("rejects an extra output", function () {
      const bytes = mutate((m) => graphOf(m).output.push(onnx.ValueInfoProto.create(valueInfo("batch.x", ElemType.FLOAT, ["B", 8]))));
      expectReject(bytes, GraphIoConventionError, "must be loss or next.<state name>");
    });

    it("rejects badly named inputs", function () {
      const bytes = mutate((m) => graphOf(m).input.push(onnx.ValueInfoProto.create(valueInfo("weights", ElemType.FLOAT, [2]))));
      expectReject(bytes, GraphIoConventionError, "state.<name>, batch.<name> or hp.<name>");
    });

    it("rejects a non-scalar or non-float hyperparameter", function () {
      const vec = mutate((m) => graphOf(m).input.push(onnx.ValueInfoProto.create(valueInfo("hp.decay", ElemType.FLOAT, [2]))));
      expectReject(vec, GraphIoConventionError, "float32 scalar");
      const dbl = mutate((m) => graphOf(m).input.push(onnx.ValueInfoProto.create(valueInfo("hp.decay", ElemType.DOUBLE, []))));
      expectReject(dbl, GraphIoConventionError, "float32 scalar");
    });

    it("rejects a state input with a symbolic dim", function () {
      const bytes = mutate((m) => {
        const i = graphOf(m).input.find((v) => v.name === "state.fc1.bias") as onnx.ValueInfoProto;
        Object.assign(i, valueInfo("state.fc1.bias", ElemType.FLOAT, ["N"]));
      });
      expectReject(bytes, GraphIoConventionError, "static shape");
    });

    it("rejects inputs with dtypes off the list", function () {
      const bytes = mutate((m) => graphOf(m).input.push(onnx.ValueInfoProto.create(valueInfo("batch.name", ElemType.STRING, ["B"]))));
      expectReject(bytes, GraphDTypeError, "dtype not allowed");
    });

    it("rejects a graph without batch inputs", function () {
      const bytes = mutate((m) => {
        const g = graphOf(m);
        g.input = g.input.filter((v) => !(v.name ?? "").startsWith("batch."));
      });
      expectReject(bytes, GraphIoConventionError, "no batch inputs");
    });
  });
});
