import { expect } from "chai";
import { createHash } from "node:crypto";
import { checkpointTree, stepRoot, verifyProof, ZERO_HASH, type Hash } from "../../../verifier/protocol/hashing";
import { canonicalJson } from "../../../verifier/protocol/canonicalJson";
import {
  buildResultIndex,
  checkpointProof,
  encodeResultIndex,
  parseResultIndex,
  resultIndexAddress,
  resultUri,
  stepProof,
  verifyCheckpointProof,
  verifyStepProof,
  ResultIndexError,
  type IndexedState,
  type ResultIndex,
} from "../../../verifier/protocol/resultIndex";

function h(s: string): Hash {
  return `0x${createHash("sha256").update(s).digest("hex")}`;
}
function st(step: number): IndexedState {
  return { stateHash: h(`state${step}`), sha256: createHash("sha256").update(`file${step}`).digest("hex") };
}
function sample(T = 8, k = 4): ResultIndex {
  const intervals: IndexedState[][] = [];
  for (let i = 0; i < T / k; i++) intervals.push(Array.from({ length: k + 1 }, (_, j) => st(i * k + j)));
  return buildResultIndex({ jobId: 7n, specHash: h("spec"), T, k, intervals, artifactBaseUrls: ["http://127.0.0.1:9000"] });
}
function problemOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(ResultIndexError);
    return (e as ResultIndexError).problem;
  }
  throw new Error("did not throw");
}

describe("protocol/resultIndex", function () {
  it("builds the checkpoint root the engine's checkpoint tree gives", function () {
    const idx = sample();
    const expected = checkpointTree([
      {
        stateHash: st(0).stateHash,
        stepRoot: stepRoot(
          [0, 1, 2, 3, 4].map((t) => st(t).stateHash),
          0,
        ),
      },
      {
        stateHash: st(4).stateHash,
        stepRoot: stepRoot(
          [4, 5, 6, 7, 8].map((t) => st(t).stateHash),
          4,
        ),
      },
      { stateHash: st(8).stateHash, stepRoot: ZERO_HASH },
    ]).root;
    expect(idx.checkpointRoot).to.equal(expected);
    expect(idx.checkpoints).to.have.length(3);
  });

  it("round-trips through canonical bytes and addresses them by sha256", function () {
    const idx = sample();
    const bytes = encodeResultIndex(idx);
    expect(bytes.toString()).to.equal(canonicalJson(JSON.parse(bytes.toString())));
    expect(parseResultIndex(bytes)).to.deep.equal(idx);
    const addr = resultIndexAddress(bytes);
    expect(addr).to.equal(createHash("sha256").update(bytes).digest("hex"));
    expect(resultUri("http://x:1/", addr)).to.equal(`http://x:1/artifacts/${addr}`);
  });

  it("proves checkpoint leaves and step leaves", function () {
    const idx = sample(12, 4);
    for (let i = 0; i < idx.checkpoints.length; i++) {
      const p = checkpointProof(idx, i);
      expect(verifyCheckpointProof(idx.checkpointRoot, p)).to.equal(true);
      expect(verifyProof(idx.checkpointRoot, p.n, (i + 1) % p.n, p.leaf, p.proof)).to.equal(false);
    }
    for (let i = 0; i < idx.intervals.length; i++) {
      for (let j = 0; j <= idx.k; j++) {
        const p = stepProof(idx, i, j);
        expect(p.globalStep).to.equal(i * 4 + j);
        expect(verifyStepProof(idx.checkpoints[i]!.stepRoot, idx.k, p)).to.equal(true);
        expect(verifyStepProof(idx.checkpoints[(i + 1) % idx.intervals.length]!.stepRoot, idx.k, p)).to.equal(false);
      }
    }
    expect(() => stepProof(idx, 0, 5)).to.throw(ResultIndexError);
    expect(() => checkpointProof(idx, 4)).to.throw(ResultIndexError);
  });

  describe("when the index is hostile or broken", function () {
    interface RawIndex {
      extra?: number;
      jobId: unknown;
      T: unknown;
      artifactBaseUrls: unknown;
      checkpointRoot: string;
      checkpoints: unknown[];
      intervals: { steps: { stateHash: string; sha256: string }[] }[];
    }
    const mutate = (f: (o: RawIndex) => void): string => {
      const o = JSON.parse(encodeResultIndex(sample()).toString()) as RawIndex;
      f(o);
      return canonicalJson(o);
    };
    it("names each problem", function () {
      expect(problemOf(() => parseResultIndex("{"))).to.equal("not-json");
      expect(problemOf(() => parseResultIndex("[]"))).to.equal("not-object");
      expect(problemOf(() => parseResultIndex(mutate((o) => (o.extra = 1))))).to.equal("bad-field");
      expect(problemOf(() => parseResultIndex(mutate((o) => (o.jobId = 7))))).to.equal("bad-field");
      expect(problemOf(() => parseResultIndex(mutate((o) => (o.T = 7))))).to.equal("bad-field");
      expect(problemOf(() => parseResultIndex(mutate((o) => (o.artifactBaseUrls = ["file:///etc"]))))).to.equal("bad-field");
      expect(problemOf(() => parseResultIndex(mutate((o) => o.checkpoints.pop())))).to.equal("bad-shape");
      expect(problemOf(() => parseResultIndex(mutate((o) => o.intervals[1]!.steps.pop())))).to.equal("bad-shape");
      expect(problemOf(() => parseResultIndex(mutate((o) => (o.intervals[0]!.steps[2]!.stateHash = h("x")))))).to.equal(
        "step-root-mismatch",
      );
      expect(problemOf(() => parseResultIndex(mutate((o) => (o.intervals[0]!.steps[4]!.sha256 = "ab".repeat(32)))))).to.equal(
        "boundary-mismatch",
      );
      expect(problemOf(() => parseResultIndex(mutate((o) => (o.checkpointRoot = h("root")))))).to.equal("checkpoint-root-mismatch");
      expect(problemOf(() => parseResultIndex(JSON.stringify(sample(), null, 1)))).to.equal("not-canonical");
    });
    it("checks the on-chain values it is told to expect", function () {
      const bytes = encodeResultIndex(sample());
      expect(problemOf(() => parseResultIndex(bytes, { expect: { jobId: 8n } }))).to.equal("boundary-mismatch");
      expect(problemOf(() => parseResultIndex(bytes, { expect: { finalStateHash: st(7).stateHash } }))).to.equal("boundary-mismatch");
      expect(
        parseResultIndex(bytes, { expect: { jobId: 7n, initialStateHash: st(0).stateHash, finalStateHash: st(8).stateHash } }).jobId,
      ).to.equal("7");
    });
  });
});
