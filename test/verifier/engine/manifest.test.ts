import { expect } from "chai";
import { createHash } from "node:crypto";
import { buildMnistDataset } from "../../../verifier/engine/data";
import {
  canonicalJson,
  canonicalManifestBytes,
  manifestIntegers,
  ManifestFieldError,
  ManifestHashMismatchError,
  ManifestJsonError,
  ManifestNonCanonicalError,
  MANIFEST_VERSION,
  parseManifest,
  specHash,
  validateManifest,
  type JobManifest,
} from "../../../verifier/engine/manifest";
import { writeSafetensors } from "../../../verifier/engine/safetensors";
import { fileHashOfSync } from "../../../verifier/engine/statehash";

const SEED = `0x${"ab".repeat(32)}`;
const sha = (b: Uint8Array | string): string => `0x${createHash("sha256").update(b).digest("hex")}`;

function makeManifest(): JobManifest {
  const ds = buildMnistDataset({ seed: SEED, batchSize: 32, maxBatches: 4, testSize: 10 });
  const state = writeSafetensors({ "fc1.weight": { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } });
  return {
    version: MANIFEST_VERSION,
    graph: { sha256: sha("graph bytes"), uri: "upow://sha256/graph" },
    initialState: { hash: fileHashOfSync(state), uri: "upow://state0", bytes: String(state.length) },
    data: { root: ds.dataRoot, uri: "upow://data/", numBatches: ds.numBatches, batchSize: 32, batchHashes: ds.batchHashes },
    seed: SEED,
    hyperparameters: { lr: 0.1, momentum: 0.9 },
    totalSteps: "12",
    checkpointInterval: "4",
    tolerance: {
      deltaUpd: 1e-3,
      deltaUlp: 1e-6,
      deltaKUpd: 1e-2,
      deltaKUlp: 1e-5,
      perTensor: { "adam.v.fc1.weight": { deltaUpd: 2e-3, deltaUlp: 1e-6, deltaKUpd: 2e-2, deltaKUlp: 1e-5 } },
    },
    flopsPerStep: "1000000",
    stateBytes: String(state.length),
    executionHints: { executionProvider: "cpu", intraOpThreads: 1 },
  };
}

/** A deep copy with `edit` applied (a plain JSON object, so tests can break any field). */
function mutate(edit: (m: Record<string, any>) => void): unknown {
  const m = JSON.parse(JSON.stringify(makeManifest())) as Record<string, any>;
  edit(m);
  return m;
}

describe("engine/manifest", function () {
  let base: JobManifest;
  before(function () {
    base = makeManifest();
  });

  describe("canonical JSON (RFC 8785)", function () {
    it("sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)", function () {
      const input = JSON.parse('{"\\u20ac":1,"\\r":2,"\\ufb33":3,"1":4,"\\ud83d\\ude00":5,"\\u0080":6,"\\u00f6":7}');
      const out = canonicalJson(input);
      const keys = [...out.matchAll(/"([^"]*)":/g)].map((m) => m[1]);
      expect(keys).to.deep.equal(["\\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"]);
    });

    it("formats numbers and strings as ECMAScript does", function () {
      expect(canonicalJson([1e21, 1e-7, 0.000001, -0, 333333333.3333333, 4.5, 2 ** 53])).to.equal(
        "[1e+21,1e-7,0.000001,0,333333333.3333333,4.5,9007199254740992]",
      );
      expect(canonicalJson({ s: '\u20ac\u000f\n"/' })).to.equal('{"s":"€\\u000f\\n\\"/"}');
      expect(() => canonicalJson({ x: NaN })).to.throw();
    });
  });

  describe("spec hash", function () {
    it("is sha256 of the canonical bytes, which have no whitespace and sorted keys", function () {
      const bytes = canonicalManifestBytes(base);
      expect(specHash(base)).to.equal(sha(bytes));
      const text = bytes.toString("utf8");
      expect(text).to.not.match(/\s/);
      expect(text.startsWith('{"checkpointInterval":"4","data":{"batchHashes":[')).to.equal(true);
    });

    it("does not depend on key order; changes with any field", function () {
      const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as JobManifest;
      expect(specHash(reordered)).to.equal(specHash(base));
      expect(specHash({ ...base, totalSteps: "16" })).to.not.equal(specHash(base));
      expect(specHash({ ...base, hyperparameters: { lr: 0.1000001, momentum: 0.9 } })).to.not.equal(specHash(base));
    });

    it("parses its own canonical bytes against the expected spec hash", function () {
      const bytes = canonicalManifestBytes(base);
      const back = parseManifest(bytes, { expectedSpecHash: specHash(base) });
      expect(back).to.deep.equal(base);
      expect(specHash(back)).to.equal(specHash(base));
    });

    it("refuses bytes for another hash, non-canonical bytes and non-JSON", function () {
      const bytes = canonicalManifestBytes(base);
      expect(() => parseManifest(bytes, { expectedSpecHash: sha("other") })).to.throw(ManifestHashMismatchError);
      const pretty = JSON.stringify(base, null, 2);
      expect(() => parseManifest(pretty)).to.throw(ManifestNonCanonicalError);
      expect(parseManifest(pretty, { requireCanonical: false }).seed).to.equal(SEED);
      expect(() => parseManifest("{not json")).to.throw(ManifestJsonError);
      expect(() => parseManifest(Buffer.from([0x7b, 0xff, 0x7d]))).to.throw(ManifestJsonError);
    });
  });

  describe("validation", function () {
    it("accepts the manifest, T and k beyond 2^53, and a batch list URI instead of hashes", function () {
      expect(validateManifest(base)).to.equal(base);
      const big = mutate((m) => {
        m.totalSteps = "18446744073709551615";
        m.checkpointInterval = "5";
        delete m.data.batchHashes;
        m.data.batchListUri = "upow://data/batches.json";
      });
      expect(() => validateManifest(big)).to.not.throw();
      const ints = manifestIntegers(big as JobManifest);
      expect(ints.totalSteps).to.equal(2n ** 64n - 1n);
      expect(ints.checkpointCount).to.equal((2n ** 64n - 1n) / 5n + 1n);
      expect(manifestIntegers(base).checkpointCount).to.equal(4n);
    });

    const cases: [string, (m: Record<string, any>) => void, string][] = [
      ["wrong version", (m) => (m.version = "upow.manifest/2"), "version"],
      ["an unknown field", (m) => (m.extra = 1), "manifest.extra"],
      ["a missing seed", (m) => delete m.seed, "manifest.seed"],
      ["an uppercase hash", (m) => (m.graph.sha256 = m.graph.sha256.toUpperCase().replace("0X", "0x")), "graph.sha256"],
      ["an empty URI", (m) => (m.graph.uri = ""), "graph.uri"],
      ["an unknown nested field", (m) => (m.graph.size = 3), "graph.size"],
      ["a numeric byte count", (m) => (m.initialState.bytes = 123), "initialState.bytes"],
      ["a leading zero", (m) => (m.initialState.bytes = "0123"), "initialState.bytes"],
      ["a value beyond uint64", (m) => (m.stateBytes = "18446744073709551616"), "stateBytes"],
      ["zero FLOPs", (m) => (m.flopsPerStep = "0"), "flopsPerStep"],
      ["zero batches", (m) => (m.data.numBatches = 0), "data.numBatches"],
      ["a fractional batch size", (m) => (m.data.batchSize = 1.5), "data.batchSize"],
      ["a batch list of the wrong length", (m) => m.data.batchHashes.pop(), "data.batchHashes"],
      ["a malformed batch hash", (m) => (m.data.batchHashes[2] = "0x12"), "data.batchHashes[2]"],
      ["a data root that does not match the batches", (m) => (m.data.root = m.seed), "data.root"],
      ["neither batch hashes nor a batch list", (m) => delete m.data.batchHashes, "data.batchHashes"],
      ["zero total steps", (m) => (m.totalSteps = "0"), "totalSteps"],
      ["k not dividing T", (m) => (m.checkpointInterval = "5"), "checkpointInterval"],
      ["k above T", (m) => (m.checkpointInterval = "24"), "checkpointInterval"],
      ["a string hyperparameter", (m) => (m.hyperparameters.lr = "0.1"), "hyperparameters.lr"],
      ["a bad hyperparameter name", (m) => (m.hyperparameters["bad name"] = 1), "hyperparameters.bad name"],
      ["a negative bound", (m) => (m.tolerance.deltaUpd = -1), "tolerance.deltaUpd"],
      [
        "both single-step bounds zero",
        (m) => {
          m.tolerance.deltaUpd = 0;
          m.tolerance.deltaUlp = 0;
        },
        "tolerance.deltaUpd",
      ],
      ["audit bounds tighter than a step's", (m) => (m.tolerance.deltaKUpd = 1e-4), "tolerance.deltaKUpd"],
      ["a missing audit bound", (m) => delete m.tolerance.deltaKUlp, "tolerance.deltaKUlp"],
      [
        "a broken per-tensor bound",
        (m) => (m.tolerance.perTensor["adam.v.fc1.weight"].deltaUlp = "x"),
        "tolerance.perTensor.adam.v.fc1.weight.deltaUlp",
      ],
      ["a nested execution hint", (m) => (m.executionHints.ep = { a: 1 }), "executionHints.ep"],
      ["a non-string description", (m) => (m.description = 7), "description"],
    ];
    for (const [what, edit, field] of cases) {
      it(`refuses ${what}, naming ${field}`, function () {
        try {
          validateManifest(mutate(edit));
          expect.fail("accepted");
        } catch (e) {
          expect(e).to.be.instanceOf(ManifestFieldError);
          expect((e as ManifestFieldError).field).to.equal(field);
        }
      });
    }

    it("refuses non-objects and bounds below the governance floors", function () {
      expect(() => validateManifest(null)).to.throw(ManifestFieldError, "manifest");
      expect(() => validateManifest([])).to.throw(ManifestFieldError, "manifest");
      const floors = { deltaUpd: 5e-3, deltaUlp: 1e-6, deltaKUpd: 1e-2, deltaKUlp: 1e-5 };
      try {
        validateManifest(base, { floors });
        expect.fail("accepted");
      } catch (e) {
        expect((e as ManifestFieldError).field).to.equal("tolerance.deltaUpd");
      }
      const f2 = { ...floors, deltaUpd: 1e-3, deltaKUpd: 1.5e-2 };
      expect(() => validateManifest(base, { floors: f2 })).to.throw(ManifestFieldError, "tolerance.deltaKUpd");
      expect(() => validateManifest(base, { floors: { ...f2, deltaKUpd: 1e-2 } })).to.not.throw();
    });

    it("reads the optional costModel (V8.2): a manifest without it stays valid; a malformed one is refused by field", function () {
      expect(() => validateManifest(base)).to.not.throw();
      const hash = `0x${"12".repeat(32)}`;
      expect(() => validateManifest(mutate((m) => (m.costModel = { version: "upow.cost/1", hash })))).to.not.throw();
      expect(() => validateManifest(mutate((m) => (m.costModel = { version: "upow.cost/01", hash })))).to.throw(
        ManifestFieldError,
        "costModel.version",
      );
      expect(() => validateManifest(mutate((m) => (m.costModel = { version: "flops/1", hash })))).to.throw(
        ManifestFieldError,
        "costModel.version",
      );
      expect(() => validateManifest(mutate((m) => (m.costModel = { version: "upow.cost/1", hash: "0x12" })))).to.throw(
        ManifestFieldError,
        "costModel.hash",
      );
      expect(() => validateManifest(mutate((m) => (m.costModel = { version: "upow.cost/1" })))).to.throw(
        ManifestFieldError,
        "costModel.hash",
      );
      expect(() => validateManifest(mutate((m) => (m.costModel = { version: "upow.cost/1", hash, extra: 1 })))).to.throw(
        ManifestFieldError,
        "costModel.extra",
      );
      expect(() => validateManifest(mutate((m) => (m.costModel = "upow.cost/1")))).to.throw(ManifestFieldError, "costModel");
    });

    it("keeps a __proto__ key as data (no prototype pollution)", function () {
      const text = canonicalJson(mutate((m) => (m.hyperparameters = JSON.parse('{"__proto__":0.5,"lr":0.1}'))));
      const m = parseManifest(text);
      expect(Object.keys(m.hyperparameters)).to.include("__proto__");
      expect(({} as Record<string, unknown>).lr).to.equal(undefined);
    });
  });
});
