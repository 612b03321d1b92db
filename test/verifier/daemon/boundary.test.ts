/**
 * A result index whose step tree disagrees with its checkpoints at an interval boundary: the
 * verifier must accept it (lenient) and find the mismatch it can prove with proveBoundaryMismatch,
 * rather than drop it as malformed.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { checkpointTree, stepRoot, type Hash } from "../../../verifier/protocol/hashing";
import {
  boundaryMismatches,
  buildResultIndex,
  encodeResultIndex,
  parseResultIndex,
  stepProof,
  verifyStepProof,
  ResultIndexError,
  type IndexedState,
  type ResultIndex,
} from "../../../verifier/protocol/resultIndex";

function h(s: string): Hash {
  return `0x${createHash("sha256").update(s).digest("hex")}`;
}
function st(tag: string): IndexedState {
  return { stateHash: h(`state${tag}`), sha256: createHash("sha256").update(`file${tag}`).digest("hex") };
}
const T = 8,
  k = 4;
function honest(): ResultIndex {
  const intervals: IndexedState[][] = [];
  for (let i = 0; i < T / k; i++) intervals.push(Array.from({ length: k + 1 }, (_, j) => st(String(i * k + j))));
  return buildResultIndex({ jobId: 7n, specHash: h("spec"), T, k, intervals, artifactBaseUrls: ["http://127.0.0.1:9000"] });
}
/** Replaces step leaf j of interval i and recommits (step root, checkpoint root), as a cheater would. */
function split(idx: ResultIndex, i: number, j: number, s: IndexedState): ResultIndex {
  const intervals = idx.intervals.map((r, n) => ({ steps: r.steps.map((x, m) => (n === i && m === j ? s : x)) }));
  const checkpoints = idx.checkpoints.map((c, n) =>
    n === i
      ? {
          ...c,
          stepRoot: stepRoot(
            intervals[n]!.steps.map((x) => x.stateHash),
            n * k,
          ),
        }
      : c,
  );
  return { ...idx, intervals, checkpoints, checkpointRoot: checkpointTree(checkpoints).root };
}

describe("verifier daemon: boundary mismatch in a result index", function () {
  it("strict parsing rejects it; lenient parsing keeps it and names the provable leaf", function () {
    const bad = split(honest(), 1, k, st("forged"));
    const bytes = encodeResultIndex(bad);
    expect(() => parseResultIndex(bytes))
      .to.throw(ResultIndexError)
      .with.property("problem", "boundary-mismatch");
    const idx = parseResultIndex(bytes, { boundaries: "lenient", expect: { jobId: 7n, checkpointRoot: bad.checkpointRoot } });
    expect(boundaryMismatches(idx)).to.deep.equal([
      { interval: 1, atEnd: true, checkpointStateHash: st("8").stateHash, stepStateHash: st("forged").stateHash },
    ]);
    // The proof the daemon sends verifies against the committed step root (what the contract checks).
    const p = stepProof(idx, 1, k);
    expect(p.stateHash).to.equal(st("forged").stateHash);
    expect(verifyStepProof(idx.checkpoints[1]!.stepRoot, k, p)).to.equal(true);
  });

  it("finds a mismatch at the start of an interval; none in an honest index", function () {
    expect(boundaryMismatches(honest())).to.deep.equal([]);
    const idx = parseResultIndex(encodeResultIndex(split(honest(), 0, 0, st("x"))), { boundaries: "lenient" });
    expect(boundaryMismatches(idx).map((m) => [m.interval, m.atEnd])).to.deep.equal([[0, false]]);
  });

  it("a different sha256 for the same state hash is not a provable mismatch", function () {
    const s = honest().intervals[0]!.steps[k]!;
    const idx = parseResultIndex(encodeResultIndex(split(honest(), 0, k, { stateHash: s.stateHash, sha256: "ab".repeat(32) })), {
      boundaries: "lenient",
    });
    expect(boundaryMismatches(idx)).to.deep.equal([]);
  });

  it("lenient parsing still rejects a step tree that does not rebuild its root", function () {
    const bad = split(honest(), 0, k, st("forged"));
    const tampered = {
      ...bad,
      intervals: bad.intervals.map((r, n) => (n === 0 ? { steps: r.steps.map((x, m) => (m === 2 ? st("other") : x)) } : r)),
    };
    expect(() => parseResultIndex(encodeResultIndex(tampered), { boundaries: "lenient" }))
      .to.throw(ResultIndexError)
      .with.property("problem", "step-root-mismatch");
  });
});
