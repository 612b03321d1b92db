/**
 * The challenger's decision when the result index gives no verifiable step leaves of its interval
 * (v3 V1.2, V1.4): wait for the checkpoint demand, demand the leaves (one demand open at a time),
 * locate only once all k+1 are on chain.
 */
import { expect } from "chai";
import { solveDispute } from "../../../verifier/daemon/solver/disputeSolver";
import { ChunkStatus, JobStatus, Phase, type DisputeFacts } from "../../../verifier/daemon/solver/types";

const base: DisputeFacts = {
  disputeId: 3n,
  jobId: 1n,
  now: 1000n,
  block: 80,
  jobStatus: JobStatus.Submitted,
  phase: Phase.Pinpointing,
  round: 0,
  deadline: 5000n,
  randomnessBlock: 0,
  commitEnd: 0n,
  revealEnd: 0n,
  appealEnd: 0n,
  isChallenger: true,
  randomnessReady: false,
  juror: { drawn: false, committed: false, revealed: false },
  roundJurors: 0,
  roundCommits: 0,
  roundReveals: 0,
  vote: undefined,
  judging: false,
  locate: undefined,
  locating: false,
  boundary: undefined,
  chainLeaves: undefined,
  chunks: [],
  ruling: 0,
  appeals: 0,
  maxAppeals: 1,
  belief: undefined,
};
const policy = { callTimeouts: false, deadlineMarginSec: 10n, appeal: false };

describe("verifier daemon: step leaves from the chain (dispute solver)", function () {
  it("the index's own leaves: locate at once", function () {
    expect(solveDispute(base, policy)).to.deep.equal([{ type: "locate" }]);
  });
  it("checkpoint leaf not on chain yet: neither demand nor locate (the checkpoint demand runs)", function () {
    expect(solveDispute({ ...base, chainLeaves: { checkpointKnown: false, missing: null } }, policy)).to.deep.equal([]);
  });
  it("leaves missing: demand the next range; nothing more while a demand is open; timed-out demands are timed out", function () {
    const missing = { checkpointKnown: true, missing: { first: 0, count: 5 } };
    expect(solveDispute({ ...base, chainLeaves: missing }, policy)).to.deep.equal([{ type: "demandStepLeaves", first: 0, count: 5 }]);
    const open = { challengeId: 9n, status: ChunkStatus.Open, deadline: 2000n };
    expect(solveDispute({ ...base, chainLeaves: missing, chunks: [open] }, policy)).to.deep.equal([]);
    expect(solveDispute({ ...base, now: 2001n, chainLeaves: missing, chunks: [open] }, policy)).to.deep.equal([
      { type: "timeoutChunk", challengeId: 9n },
    ]);
    // An answered earlier demand does not block the next range.
    const answered = { ...open, status: ChunkStatus.Answered };
    expect(
      solveDispute({ ...base, chainLeaves: { checkpointKnown: true, missing: { first: 64, count: 3 } }, chunks: [answered] }, policy),
    ).to.deep.equal([{ type: "demandStepLeaves", first: 64, count: 3 }]);
  });
  it("all leaves on chain: locate", function () {
    expect(solveDispute({ ...base, chainLeaves: { checkpointKnown: true, missing: null } }, policy)).to.deep.equal([{ type: "locate" }]);
  });
});
