/**
 * Range proofs of contiguous leaves (verifier/protocol/hashing.ts PositionalTree.rangeProof,
 * UPowHashing.rangeRoot): every range of trees of 1..17 leaves rebuilds the root, wrong leaves or
 * proofs do not, and the DataAvailability contract accepts them on chain (proveStepLeaves).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  checkpointTree,
  merkleTree,
  rangeRoot,
  sha256,
  stepRangeProof,
  stepTree,
  toHex,
  verifyRange,
  type Hash,
} from "../../../verifier/protocol/hashing";
import { deploySystem, jobParams } from "../../helpers/system";

const leavesOf = (n: number, tag = "leaf"): Hash[] => Array.from({ length: n }, (_, i) => toHex(sha256(Buffer.from(`${tag}:${i}`))));

describe("range proofs (positional trees)", function () {
  it("rebuilds the root for every contiguous range of trees of 1..17 leaves", function () {
    for (let n = 1; n <= 17; n++) {
      const leaves = leavesOf(n);
      const tree = merkleTree(leaves);
      for (let first = 0; first < n; first++) {
        for (let count = 1; first + count <= n; count++) {
          const proof = tree.rangeProof(first, count);
          expect(
            verifyRange(tree.root, n, first, leaves.slice(first, first + count), proof),
            `n=${n} first=${first} count=${count}`,
          ).to.equal(true);
        }
      }
    }
  });

  it("a single leaf's range proof is its ordinary proof", function () {
    const tree = merkleTree(leavesOf(11));
    for (let i = 0; i < 11; i++) expect(tree.rangeProof(i, 1)).to.deep.equal(tree.proof(i));
  });

  it("rejects a changed leaf, a short or long proof, and a shifted range", function () {
    const leaves = leavesOf(9);
    const tree = merkleTree(leaves);
    const proof = tree.rangeProof(2, 4);
    const mine = leaves.slice(2, 6);
    expect(verifyRange(tree.root, 9, 2, [mine[0]!, leavesOf(1, "x")[0]!, mine[2]!, mine[3]!], proof)).to.equal(false);
    expect(rangeRoot(9, 2, mine, proof.slice(1))).to.equal(null);
    expect(rangeRoot(9, 2, mine, [...proof, proof[0]!])).to.equal(null);
    expect(verifyRange(tree.root, 9, 3, mine, proof)).to.equal(false);
    expect(rangeRoot(9, 7, mine, proof)).to.equal(null); // past the end
    expect(() => tree.rangeProof(8, 2)).to.throw();
  });

  it("the DataAvailability accepts them on chain (proveStepLeaves of every range of an interval)", async function () {
    const sys = await loadFixture(deploySystem);
    const T = 16;
    const k = 8; // 9 step leaves per interval: a padded tree of depth 4
    const states = leavesOf(T + 1, "state");
    const steps = (i: number): Hash[] => states.slice(i * k, i * k + k + 1);
    const stepRoots = [stepTree(steps(0), 0).root, stepTree(steps(1), k).root];
    const ckpts = checkpointTree([
      { stateHash: states[0]!, stepRoot: stepRoots[0]! },
      { stateHash: states[k]!, stepRoot: stepRoots[1]! },
      { stateHash: states[T]!, stepRoot: ethers.ZeroHash },
    ]);
    const jobId = await sys.jobMarket.nextJobId();
    await sys.jobMarket
      .connect(sys.requester)
      .createJob(await jobParams(sys, { totalSteps: T, checkpointInterval: k, initialStateHash: states[0]! }));
    await sys.jobMarket.connect(sys.worker).claimJob(jobId);
    await sys.jobMarket
      .connect(sys.worker)
      .submitResult(jobId, ckpts.root, states[T]!, "ipfs://result", stepRoots[0]!, ckpts.proof(0), ckpts.proof(2));
    const da = sys.dataAvailability.connect(sys.stranger);
    await da.proveCheckpoint(jobId, 1, states[k]!, stepRoots[1]!, ckpts.proof(1));
    const hashes = steps(1);
    for (const [first, count] of [
      [0, 9],
      [1, 7],
      [3, 1],
      [8, 1],
      [2, 5],
      [5, 4],
    ] as const) {
      const proof = stepRangeProof(hashes, k, first, count);
      await expect(da.proveStepLeaves(jobId, 1, first, hashes.slice(first, first + count), proof), `first=${first} count=${count}`).to.emit(
        sys.dataAvailability,
        "StepLeavesProven",
      );
    }
    for (let j = 0; j <= k; j++) expect((await sys.dataAvailability.stepLeaf(jobId, k + j)).stateHash).to.equal(hashes[j]);
    // A proof for another range does not prove this one.
    await expect(da.proveStepLeaves(jobId, 1, 1, hashes.slice(1, 4), stepRangeProof(hashes, k, 2, 3))).to.be.revertedWithCustomError(
      sys.dataAvailability,
      "DataAvailabilityInvalidProof",
    );
  });
});
