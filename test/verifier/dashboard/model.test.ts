/**
 * The dashboard's pure view model (verifier/dashboard/model.ts): event sequences as the contracts
 * emit them → job timelines, dispute phases, rounds, votes and rulings, locks per account; the
 * reads' precedence over what events imply; the daemons' panel from Prometheus text. Plus the
 * result evaluation's model inference (results.ts) on graphs the real builder makes.
 */
import { expect } from "chai";
import {
  buildAccounts,
  buildDisputes,
  buildJobs,
  daemonView,
  EMPTY_READS,
  parsePrometheus,
  type ChainEvent,
  type ChainReads,
  type EventArg,
} from "../../../verifier/dashboard/model";
import { activationOf, mlpSpec } from "../../../verifier/dashboard/results";
import { buildStepGraph } from "../../../verifier/engine/onnx";
import { initState } from "../../../verifier/engine/onnx/init";
import { JobStatus, Phase, Ruling } from "../../../verifier/protocol/enums";

const REQ = "0x1111111111111111111111111111111111111111";
const WORKER = "0x2222222222222222222222222222222222222222";
const CHAL = "0x3333333333333333333333333333333333333333";
const J1 = "0x4444444444444444444444444444444444444444";
const J2 = "0x5555555555555555555555555555555555555555";
const PAY = "0x6666666666666666666666666666666666666666";
const STK = "0x7777777777777777777777777777777777777777";
const LOCK = `0x${"ab".repeat(32)}`;

let n = 0;
function ev(contract: ChainEvent["contract"], name: string, args: Record<string, EventArg>, block = ++n): ChainEvent {
  return { contract, name, block, logIndex: 0, time: 1_000 + block, tx: `0x${block.toString(16)}`, args };
}

function honestJob(): ChainEvent[] {
  return [
    ev("JobMarket", "JobCreated", {
      jobId: "1",
      requester: REQ,
      paymentToken: PAY,
      reward: "100000000000000000000",
      verificationFee: "10000000000000000000",
      specURI: "http://s/artifacts/x",
    }),
    ev("JobMarket", "JobClaimed", { jobId: "1", worker: WORKER }),
    ev("JobMarket", "ResultSubmitted", { jobId: "1", worker: WORKER, resultURI: "http://s/artifacts/y" }),
    ev("AuditManager", "AuditorsAssigned", { jobId: "1", auditors: [J1, J2, J1] }),
    ev("AuditManager", "Attested", { jobId: "1", auditor: J1 }),
    ev("JobMarket", "JobFinalized", { jobId: "1", worker: WORKER }),
    ev("AuditManager", "AuditSettled", { jobId: "1", attesters: 1 }),
  ];
}

function disputeToRuling(): ChainEvent[] {
  return [
    ev("DisputeManager", "DisputeOpened", {
      disputeId: "7",
      jobId: "1",
      interval: "1",
      challenger: CHAL,
      bond: "100000000000000000000",
      pinpointDeadline: "5000",
    }),
    ev("DisputeManager", "StepPinpointed", { disputeId: "7", globalStep: "5" }),
    ev("DisputeManager", "CommitteeDrawn", { disputeId: "7", round: 0, jurors: [J1, J2], quorum: 2, commitEnd: "6000", revealEnd: "7000" }),
    ev("DisputeManager", "VoteCommitted", { disputeId: "7", round: 0, juror: J1 }),
    ev("DisputeManager", "VoteCommitted", { disputeId: "7", round: 0, juror: J2 }),
    ev("DisputeManager", "VoteRevealed", { disputeId: "7", round: 0, juror: J1, vote: Ruling.WorkerFault }),
    ev("DisputeManager", "RulingGiven", { disputeId: "7", round: 0, ruling: Ruling.WorkerFault, appealEnd: "8000" }),
  ];
}

describe("dashboard view model", function () {
  it("a job's timeline follows its events: created → claimed → submitted → auditors → attested → finalized → audited", function () {
    const [job] = buildJobs(honestJob());
    expect(job!.timeline.map((t) => t.stage)).to.deep.equal([
      "created",
      "claimed",
      "submitted",
      "auditors-drawn",
      "attested",
      "finalized",
      "audited",
    ]);
    expect(job!.status).to.equal("Finalized");
    expect(job!.worker).to.equal(WORKER);
    expect(job!.auditors).to.deep.equal([
      { address: J1, state: "attested" },
      { address: J2, state: "assigned" },
    ]);
    expect(job!.timeline[3]!.detail).to.equal("2 auditors"); // two accounts, three seats
    expect(job!.result).to.deep.equal({ state: "pending" });
  });

  it("folds events in chain order whatever order they arrive in", function () {
    const events = honestJob();
    expect(buildJobs([...events].reverse())).to.deep.equal(buildJobs(events));
  });

  it("an expired claim clears the worker and reopens the job; amounts use the token's symbol and decimals", function () {
    const [created, claimed] = honestJob();
    const reads: ChainReads = { ...EMPTY_READS, tokens: new Map([[PAY, { address: PAY, symbol: "PAY", decimals: 18 }]]) };
    const [job] = buildJobs([created!, claimed!, ev("JobMarket", "ClaimExpired", { jobId: "1", worker: WORKER })], reads);
    expect(job!.status).to.equal("Open");
    expect(job!.worker).to.equal(null);
    expect(job!.reward).to.equal("100 PAY");
    expect(job!.verificationFee).to.equal("10 PAY");
    // Without token info the base units are shown, never a guess.
    expect(buildJobs([created!])[0]!.reward).to.equal("100000000000000000000");
  });

  it("the chain's job status wins over what the events imply", function () {
    const [created] = honestJob();
    const reads: ChainReads = { ...EMPTY_READS, jobs: new Map([["1", { status: JobStatus.Cancelled }]]) };
    expect(buildJobs([created!], reads)[0]!.status).to.equal("Cancelled");
  });

  it("a dispute walks Pinpointing → AwaitingDraw → Voting → Ruled with its round's votes", function () {
    const [d] = buildDisputes(disputeToRuling());
    expect(d!.timeline.map((t) => t.stage)).to.deep.equal(["Pinpointing", "AwaitingDraw", "Voting", "Ruled"]);
    expect(d!.phase).to.equal("Ruled");
    expect(d!.ruling).to.equal("WorkerFault");
    expect(d!.step).to.equal(5);
    expect(d!.rounds).to.have.length(1);
    expect(d!.rounds[0]).to.include({ round: 0, quorum: 2, commitEnd: 6000, revealEnd: 7000, outcome: "WorkerFault" });
    expect(d!.rounds[0]!.votes).to.deep.equal([
      { juror: J1, committed: true, revealed: true, vote: "WorkerFault" },
      { juror: J2, committed: true, revealed: false, vote: null },
    ]);
  });

  it("a failed round, an appeal and the close are on the timeline; Closed carries the final ruling", function () {
    const events = [
      ...disputeToRuling(),
      ev("DisputeManager", "Appealed", { disputeId: "7", appellant: WORKER }),
      ev("DisputeManager", "CommitteeDrawn", { disputeId: "7", round: 1, jurors: [J2], quorum: 1, commitEnd: "9000", revealEnd: "9500" }),
      ev("DisputeManager", "RoundFailed", { disputeId: "7", round: 1, reveals: 0, quorum: 1 }),
      ev("DisputeManager", "WorkerConvicted", { disputeId: "7", jobId: "1", slashed: "5" }),
      ev("DisputeManager", "DisputeClosed", { disputeId: "7", jobId: "1", ruling: Ruling.WorkerFault }),
    ];
    const [d] = buildDisputes(events);
    expect(d!.timeline.map((t) => t.stage)).to.deep.equal([
      "Pinpointing",
      "AwaitingDraw",
      "Voting",
      "Ruled",
      "Appealed",
      "Voting",
      "RoundFailed",
      "WorkerConvicted",
      "Closed",
    ]);
    expect(d!.phase).to.equal("Closed");
    expect(d!.ruling).to.equal("WorkerFault");
    expect(d!.rounds.map((r) => r.outcome)).to.deep.equal(["WorkerFault", "failed"]);
    expect(d!.deadlines).to.deep.equal([]);
  });

  it("deadlines are the phase's, from the chain's effective windows when read", function () {
    const events = disputeToRuling().slice(0, 1);
    expect(buildDisputes(events)[0]!.deadlines).to.deep.equal([{ what: "pinpoint by", at: 5000 }]);
    const read = { ruling: 0, round: 0, pinpointDeadline: 5600, commitEnd: 6100, revealEnd: 7100, appealEnd: 8000, randomnessBlock: 0 };
    const at = (phase: number) => buildDisputes(events, { ...EMPTY_READS, disputes: new Map([["7", { ...read, phase }]]) })[0]!;
    expect(at(Phase.Pinpointing).deadlines).to.deep.equal([{ what: "pinpoint by", at: 5600 }]);
    expect(at(Phase.Voting).deadlines).to.deep.equal([
      { what: "commit votes by", at: 6100 },
      { what: "reveal votes by", at: 7100 },
    ]);
    expect(at(Phase.Ruled).deadlines).to.deep.equal([{ what: "appeal by", at: 8000 }]);
    expect(at(Phase.Voting).phase).to.equal("Voting");
  });

  it("the job lists its disputes; the dispute names its job", function () {
    const [job] = buildJobs([...honestJob(), ...disputeToRuling()]);
    expect(job!.disputes).to.deep.equal(["7"]);
    expect(buildDisputes(disputeToRuling())[0]!.jobId).to.equal("1");
  });

  it("accounts: roles from every event, locks still held (locked − unlocked − slashed) with their labels", function () {
    const events = [
      ...honestJob(),
      ...disputeToRuling(),
      ev("StakeManager", "Staked", { account: WORKER, amount: "900" }),
      ev("StakeManager", "Locked", { account: WORKER, lockId: LOCK, amount: "500" }),
      ev("StakeManager", "Locked", { account: J1, lockId: LOCK, amount: "40" }),
      ev("StakeManager", "Unlocked", { account: J1, lockId: LOCK, amount: "40" }),
      ev("StakeManager", "Slashed", { account: WORKER, lockId: LOCK, amount: "200" }),
    ];
    const reads: ChainReads = {
      ...EMPTY_READS,
      tokens: new Map([[STK, { address: STK, symbol: "STK", decimals: 0 }]]),
      lockLabels: new Map([[LOCK, "job 1 collateral"]]),
    };
    const accounts = buildAccounts(events, reads, STK);
    const of = (a: string) => accounts.find((x) => x.address === a)!;
    expect(accounts.map((a) => a.address)).to.deep.equal([REQ, WORKER, CHAL, J1, J2].sort());
    expect(of(WORKER).roles).to.deep.equal(["staker", "worker"]);
    expect(of(J1).roles).to.deep.equal(["auditor", "juror"]);
    expect(of(CHAL).roles).to.deep.equal(["challenger"]);
    expect(of(WORKER).locks).to.deep.equal([{ lockId: LOCK, label: "job 1 collateral", amount: "300 STK" }]);
    expect(of(J1).locks).to.deep.equal([]);
  });

  it("daemons: counters summed over label sets, role and version from labels, head from the gauges", function () {
    const text = [
      "# HELP upow_jobs_claimed_total Jobs claimed",
      "# TYPE upow_jobs_claimed_total counter",
      'upow_jobs_claimed_total{role="worker"} 2',
      'upow_txs_sent_total{role="worker",purpose="claim"} 2',
      'upow_txs_sent_total{role="worker",purpose="submit"} 1',
      'upow_build_info{role="worker",version="0.1.0",commit="abc"} 1',
      'upow_chain_head_block{role="worker"} 153',
      'upow_chain_head_age_seconds{role="worker"} 4.5',
      'upow_replay_seconds_bucket{role="worker",le="+Inf"} NaN',
    ].join("\n");
    expect(parsePrometheus(text).totals.upow_txs_sent_total).to.equal(3);
    const d = daemonView("http://127.0.0.1:9464", 1, text, true, null);
    expect(d).to.include({ up: true, healthy: true, role: "worker", version: "0.1.0", headBlock: 153, headAgeSeconds: 4.5 });
    expect(d.counters).to.deep.equal({ upow_jobs_claimed_total: 2, upow_txs_sent_total: 3 });
    const down = daemonView("http://127.0.0.1:9", 1, null, null, "/metrics: ECONNREFUSED");
    expect(down).to.include({ up: false, healthy: null, error: "/metrics: ECONNREFUSED" });
  });
});

describe("dashboard result evaluation: the model behind a committed state", function () {
  it("reads the activation from the step graph the builder makes", function () {
    for (const activation of ["relu", "tanh", "gelu"] as const) {
      expect(activationOf(buildStepGraph({ layers: [784, 8, 10], activation, optimizer: "sgd" }))).to.equal(activation);
    }
  });

  it("reads the layer widths from the state, and refuses a state that is not an MNIST MLP", function () {
    const spec = { layers: [784, 12, 6, 10], activation: "tanh", optimizer: "adam" } as const;
    expect(mlpSpec(initState(spec, "0x01"), "tanh").layers).to.deep.equal([784, 12, 6, 10]);
    expect(() => mlpSpec(initState({ layers: [20, 8, 10], activation: "relu", optimizer: "sgd" }, "0x01"), "relu")).to.throw(
      /not an MNIST MLP/,
    );
    expect(() => mlpSpec(initState(spec, "0x01"), null)).to.throw(/no known activation/);
  });
});
