/**
 * System invariants (PROTOCOL.md §8) under random sequences of calls by several actors over the
 * whole protocol: staking, the job lifecycle, audits, disputes with committees, chunk challenges,
 * boundary proofs, withdrawals and time jumps. After every action that changed state, one
 * `eth_call` to the test-only InvariantProbe reads every balance next to what the contracts' views
 * say is owed (a reverted call or a time jump moves no token, so re-checking then proves nothing).
 *
 * Each sequence starts from one snapshot (loadFixture → evm_revert) holding jobs in every live
 * status, running disputes in every phase (one of them headed by the worker's sybil), a voided
 * dispute its challenger may reopen and a rejected job whose answered challenge awaits `settle`, so
 * short sequences (5–10 actions) still reach deep states.
 * FC_RUNS sets the number of sequences (default 400, e.g. FC_RUNS=20000 for a long run; 40
 * under coverage); FC_SEED replays a run.
 *
 * Adversaries (issue 12): the worker's sybil challenger (commits before honest challengers, pinpoints
 * honest steps, opens challenges in its own disputes, lets deadlines pass; after every conviction of
 * the worker, worker + sybil must have lost at least collateral·(1 − challengerBps), V4.3), a
 * withholding worker (one answer in five withheld), a flooding challenger (commitments never used)
 * and a silent juror (drawn, never votes: loses its whole jurorLock when the round settles). Jurors
 * vote the truth except in one commit action in four; an honest job may end Rejected only when its
 * worker withheld data or a juror revealed a false vote.
 *
 * V5.2 (every live job, dispute and challenge has a permissionless call that moves it on): one
 * sequence in FC_DRIVE_EVERY (default 16; 1 = every sequence, about 2.5 times slower) ends with a stranger driving
 * everything to its end with permissionless calls and time jumps only (see `drive`).
 */
import { expect } from "chai";
import { enterNextEpoch } from "../helpers/staking";
import fc from "fast-check";
import hre, { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import type { InvariantProbe } from "../../typechain-types";
import {
  E18,
  K,
  T,
  WORKER_STAKE,
  challengeCommitment,
  deploySystem,
  jobParams,
  voteCommitment,
  type System,
  drawCommittee,
} from "../helpers/system";
import { checkpointProof, chunkProof, splitStepProof, splitTrajectory, stepProof, type SplitTrajectory } from "../helpers/trees";
import { proof, type Hex } from "../helpers/merkle";
import {
  ChallengeKind as DAKind,
  ChallengeStatus,
  JobStatus,
  Phase,
  Ruling,
  jobStatusName,
  phaseName,
} from "../../verifier/protocol/enums";

const underCoverage = (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;
// 400 sequences take ~1 min in the process of their own `npm test` gives them (hardhat.config.ts); FC_RUNS=2000 (or more) for a deeper run.
const RUNS = Number(process.env.FC_RUNS ?? (underCoverage ? 40 : 400));
const MIN_LEN = 5;
const MAX_LEN = 10;
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
/** One sequence in DRIVE_EVERY (drawn by the generator, so FC_SEED replays it) ends with the V5.2 drive. */
const DRIVE_EVERY = Number(process.env.FC_DRIVE_EVERY ?? 16);

const TERMINAL_JOB = new Set<number>([JobStatus.Finalized, JobStatus.Rejected, JobStatus.Cancelled]);
const INTERVALS = T / K;
const GAS = { gasLimit: 12_000_000 };

type TrajKind = "honest" | "start" | "end";

/** What the test knows off chain: each job's trajectory and each committed vote's salt. */
interface Model {
  jobs: Map<bigint, SplitTrajectory>;
  votes: Map<string, { vote: number; salt: Hex }>;
  salts: number;
  disputes: number;
  chunks: number;
  /** Commitments nobody will use (the flooding challenger's, the sybil's spare ones): expireCommitment burns them. */
  commitments: Hex[];
  /** Jobs where a juror revealed a vote against the truth of the pinpointed step: a conviction may be wrong. */
  tainted: Set<bigint>;
  /** Disputes opened by the sybil. */
  sybilDisputes: bigint[];
}

interface World {
  sys: System;
  probe: InvariantProbe;
  actors: HardhatEthersSigner[];
  /** An account controlled by `sys.worker` that challenges its own jobs (never picked as a random actor, never staked). */
  sybil: HardhatEthersSigner;
  /** A juror who, when drawn, never commits nor reveals. */
  silent: HardhatEthersSigner;
  /** A juror who never re-executes: it always votes the prior, WorkerHonest (v3 V10). */
  lazy: HardhatEthersSigner;
  workers: HardhatEthersSigner[];
  actorAddresses: string[];
  /** The only accounts the JobMarket may ever credit: the requester and the workers. */
  payees: string[];
  trajectories: Record<TrajKind, SplitTrajectory>;
  jurorLock: bigint;
  challengerBps: bigint;
  model: Model;
}

/** Counts of the adversarial checks that actually fired (printed at the end: each must be > 0). */
const adversary = {
  convictionsPriced: 0,
  sybilBounties: 0,
  silentSlashed: 0,
  muteSlashed: 0,
  drives: 0,
  driveCalls: new Map<string, number>(),
  grinds: 0,
  lazyVotes: 0,
};

/** Interval 1's step tree: honest, or lying at its first or last leaf. */
function trajectory(sys: System, kind: TrajKind): SplitTrajectory {
  const steps = sys.traj.stateHashes.slice(K, 2 * K + 1);
  if (kind === "start") steps[0] = ethers.id("fake start") as Hex;
  if (kind === "end") steps[K] = ethers.id("fake end") as Hex;
  return splitTrajectory(sys.traj.stateHashes, K, 1, steps);
}

function stepLeafProof(sys: System, traj: SplitTrajectory, interval: number, j: number): { stateHash: Hex; proof: Hex[] } {
  return interval === traj.interval ? splitStepProof(traj, j) : stepProof(sys.traj, interval, j);
}

async function send(tx: Promise<ContractTransactionResponse>): Promise<boolean> {
  return (await sendTx(tx)) !== null;
}

/** The mined call (automine: mined once sent), or null when it reverted. */
async function sendTx(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionResponse | null> {
  try {
    return await tx;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/revert/i.test(msg)) return null;
    throw e;
  }
}

async function createJob(w: World, kind: TrajKind): Promise<void> {
  const id = await w.sys.jobMarket.nextJobId();
  if (await send(w.sys.jobMarket.connect(w.sys.requester).createJob(await jobParams(w.sys), GAS))) {
    w.model.jobs.set(id, w.trajectories[kind]);
  }
}

async function submit(w: World, jobId: bigint): Promise<boolean> {
  const traj = w.model.jobs.get(jobId)!;
  const job = await w.sys.jobMarket.getJob(jobId);
  const worker = w.actors.find((a) => a.address === job.worker) ?? w.sys.worker;
  const n = traj.checkpointLeaves.length;
  return send(
    w.sys.jobMarket
      .connect(worker)
      .submitResult(
        jobId,
        traj.checkpointRoot,
        traj.stateHashes[T],
        "ipfs://r",
        traj.stepRoots[0],
        proof(traj.checkpointLeaves, 0),
        proof(traj.checkpointLeaves, n - 1),
        GAS,
      ),
  );
}

async function openDispute(w: World, jobId: bigint, interval: number, challenger: HardhatEthersSigner): Promise<boolean> {
  const traj = w.model.jobs.get(jobId);
  if (traj === undefined) return false;
  const salt = ethers.id(`salt:${w.model.salts++}`) as Hex;
  const dm = w.sys.disputeManager;
  if (!(await send(dm.connect(challenger).commitChallenge(challengeCommitment(jobId, interval, challenger.address, salt), GAS))))
    return false;
  const ok = await send(
    dm.connect(challenger).openDispute(jobId, interval, salt, checkpointProof(traj, interval), checkpointProof(traj, interval + 1), 0, GAS),
  );
  if (ok) w.model.disputes++;
  return ok;
}

function signer(w: World, address: string): HardhatEthersSigner {
  return address === w.sybil.address ? w.sybil : w.actors.find((a) => a.address === address)!;
}

/** Runs a Void to its end in the fixture: two first rounds where nobody votes (quorum missed maxRounds times). */
async function voidDispute(w: World, id: bigint): Promise<void> {
  const dm = w.sys.disputeManager;
  for (let round = 0; round < 2; round++) {
    await mine(3);
    await dm.drawCommittee(id);
    const [, revealEnd] = await dm.votingWindows(id);
    await time.increaseTo(revealEnd + 1n);
    await dm.resolve(id);
  }
  expect((await dm.getDispute(id)).ruling, "fixture dispute voided").to.equal(4n);
}

async function base(): Promise<World> {
  const sys = await deploySystem();
  const probe = (await ethers.deployContract("InvariantProbe", [
    await sys.stakeManager.getAddress(),
    await sys.jobMarket.getAddress(),
    await sys.auditManager.getAddress(),
    await sys.disputeManager.getAddress(),
    await sys.payToken.getAddress(),
  ])) as unknown as InvariantProbe;
  const actors = [sys.requester, sys.worker, sys.challenger, sys.challenger2, sys.stranger, ...sys.jurors];
  // The worker's sybil: bond money only (no stake, so it is never drawn as a juror).
  const sybil = (await ethers.getSigners())[25];
  await sys.stakeToken.mint(sybil.address, 100_000n * E18);
  await sys.stakeToken.connect(sybil).approve(await sys.disputeManager.getAddress(), ethers.MaxUint256);
  await sys.stakeToken.connect(sybil).approve(await sys.dataAvailability.getAddress(), ethers.MaxUint256);
  // A second worker, so collateral locks of two accounts interleave.
  const worker2 = sys.challenger2;
  await sys.stakeToken.mint(worker2.address, WORKER_STAKE);
  await sys.stakeToken.connect(worker2).approve(await sys.stakeManager.getAddress(), ethers.MaxUint256);
  await sys.stakeManager.connect(worker2).stake(WORKER_STAKE);
  for (const a of actors) await sys.stakeToken.connect(a).approve(await sys.stakeManager.getAddress(), ethers.MaxUint256);
  const trajectories = { honest: trajectory(sys, "honest"), start: trajectory(sys, "start"), end: trajectory(sys, "end") };
  const payees = [sys.requester.address, sys.worker.address, worker2.address];
  const w: World = {
    sys,
    probe,
    actors,
    sybil,
    silent: sys.jurors[0],
    lazy: sys.jurors[1],
    actorAddresses: [...actors, sybil].map((a) => a.address),
    payees,
    workers: [sys.worker, worker2],
    trajectories,
    jurorLock: (await sys.disputeManager.params()).jurorLock,
    challengerBps: BigInt((await sys.disputeManager.params()).challengerBps),
    model: { jobs: new Map(), votes: new Map(), salts: 0, disputes: 0, chunks: 0, commitments: [], tainted: new Set(), sybilDisputes: [] },
  };

  // The lazy juror holds a large reserve (a third of the pool), so it sits on most committees.
  await sys.stakeToken.mint(w.lazy.address, 6_000n * E18);
  await sys.stakeManager.connect(w.lazy).stakeForJury(6_000n * E18);
  await enterNextEpoch(sys.stakeManager);
  await time.increase(60);

  // A juror whose unbonding is already over, so withdrawals happen in short sequences.
  const leaver = sys.jurors[sys.jurors.length - 1];
  await sys.stakeManager.connect(leaver).requestUnstake(100n * E18);
  await time.increase(86_401);

  // Jobs 1..5: Open, Claimed, Submitted (honest), Submitted (lying at the start of interval 1, worker2), Submitted (lying at the end).
  for (const kind of ["honest", "honest", "honest", "start", "end"] as const) await createJob(w, kind);
  await sys.jobMarket.connect(sys.worker).claimJob(2n);
  await sys.jobMarket.connect(sys.worker).claimJob(3n);
  await sys.jobMarket.connect(worker2).claimJob(4n);
  await sys.jobMarket.connect(sys.worker).claimJob(5n);
  for (const id of [3n, 4n, 5n]) await submit(w, id);
  // Dispute 1 on job 3 interval 0: voided (nobody voted in two rounds), so its challenger may reopen it.
  await openDispute(w, 3n, 0, sys.challenger);
  await sys.disputeManager.connect(sys.challenger).pinpoint(1n, 0, stepProof(sys.traj, 0, 0), stepProof(sys.traj, 0, 1));
  await voidDispute(w, 1n);
  // Dispute 2 on job 3 interval 1 with a committee voting; dispute 3 on job 4 interval 1, pinpointing.
  await openDispute(w, 3n, 1, sys.challenger);
  const a = stepProof(sys.traj, 1, 0);
  const b = stepProof(sys.traj, 1, 1);
  await sys.disputeManager.connect(sys.challenger).pinpoint(2n, 0, a, b);
  // One seat per juror (the fixture's vote pattern needs three), the lazy juror among them.
  await drawCommittee(sys, 2n, { accept: (seats) => seats.some((j) => j.address === w.lazy.address) });
  // Two of its jurors committed (WorkerFault and WorkerHonest, the silent juror never does); the third may still commit or stay silent.
  const r1 = await sys.disputeManager.getRound(2n, 0);
  const talkers = r1.jurors.filter((j) => j !== w.silent.address);
  for (const [i, vote] of [Ruling.WorkerFault, Ruling.WorkerHonest].entries()) {
    const salt = ethers.id(`fixture vote ${i}`) as Hex;
    await sys.disputeManager.connect(signer(w, talkers[i])).commitVote(2n, voteCommitment(2n, 0, talkers[i], vote, salt));
    w.model.votes.set(`2:0:${talkers[i]}`, { vote, salt });
  }
  await openDispute(w, 4n, 1, sys.stranger);
  // Dispute 4 on job 5 interval 0: ruled WorkerHonest, appealable.
  await openDispute(w, 5n, 0, sys.challenger);
  const c = stepProof(sys.traj, 0, 1);
  const e = stepProof(sys.traj, 0, 2);
  await sys.disputeManager.connect(sys.challenger).pinpoint(4n, 1, c, e);
  await drawCommittee(sys, 4n);
  const r3 = await sys.disputeManager.getRound(4n, 0);
  const voters3 = r3.jurors.filter((j) => j !== w.silent.address);
  for (const j of voters3) {
    const salt = ethers.id(`fixture vote 4:${j}`) as Hex;
    await sys.disputeManager.connect(signer(w, j)).commitVote(4n, voteCommitment(4n, 0, j, Ruling.WorkerHonest, salt));
    w.model.votes.set(`4:0:${j}`, { vote: 2, salt });
  }
  if (voters3.length < r3.jurors.length) await time.increaseTo((await sys.disputeManager.votingWindows(4n))[0] + 1n);
  for (const j of voters3)
    await sys.disputeManager.connect(signer(w, j)).revealVote(4n, Ruling.WorkerHonest, w.model.votes.get(`4:0:${j}`)!.salt);
  if (voters3.length < r3.jurors.length) await time.increaseTo((await sys.disputeManager.votingWindows(4n))[1] + 1n);
  await sys.disputeManager.resolve(4n);
  // Job 3's auditors are drawn.
  await sys.auditManager.drawAuditors(3n);
  // Job 6 (worker2, lying at the start of interval 1): a step-leaf demand answered, then convicted by a
  // boundary proof, so the answered challenge's bond waits for `settle`.
  await createJob(w, "start");
  await sys.jobMarket.connect(worker2).claimJob(6n);
  await submit(w, 6n);
  await openDispute(w, 6n, 1, sys.challenger);
  await sys.dataAvailability.connect(sys.challenger).demandStepLeaves(6n, 5n, 1, 1, 1);
  const leaf = stepLeafProof(sys, w.trajectories.start, 1, 1);
  await sys.dataAvailability.connect(worker2).answerStepLeaves(1n, [leaf.stateHash], leaf.proof);
  const lie = stepLeafProof(sys, w.trajectories.start, 1, 0);
  await sys.disputeManager.proveBoundaryMismatch(5n, false, lie.stateHash, lie.proof);
  expect((await sys.jobMarket.getJob(6n)).status, "fixture job 6 rejected").to.equal(BigInt(JobStatus.Rejected));
  await sys.disputeManager.connect(sys.challenger).reopenDispute.staticCall(1n, 0); // reopenable
  // Job 7 (sys.worker, lying at the end of interval 1): the worker's sybil committed before the honest
  // challenger, so its dispute 7 heads the queue before the honest dispute 6 on the same interval and
  // takes the bounty of a conviction while it keeps its deadlines (V2.4, priced by V4.3).
  await createJob(w, "end");
  await sys.jobMarket.connect(sys.worker).claimJob(7n);
  await submit(w, 7n);
  const salt7 = ethers.id("sybil fixture") as Hex;
  await sys.disputeManager.connect(sybil).commitChallenge(challengeCommitment(7n, 1, sybil.address, salt7));
  await openDispute(w, 7n, 1, sys.challenger);
  const t7 = w.trajectories.end;
  await sys.disputeManager.connect(sybil).openDispute(7n, 1, salt7, checkpointProof(t7, 1), checkpointProof(t7, 2), 0);
  w.model.disputes++;
  w.model.sybilDisputes.push(7n);
  expect(await sys.disputeManager.bountyDispute(7n), "the sybil heads job 7's queue").to.equal(7n);
  return w;
}

/** Copies the fixture's off-chain model, so every sequence starts from the same knowledge. */
function cloneWorld(w: World): World {
  const m = w.model;
  return {
    ...w,
    model: {
      ...m,
      jobs: new Map(m.jobs),
      votes: new Map(m.votes),
      commitments: [...m.commitments],
      tainted: new Set(m.tainted),
      sybilDisputes: [...m.sybilDisputes],
    },
  };
}

// ------------------------------------------------------------------ adversaries

/** The honest vote on a pinpointed step: WorkerFault (1) iff the step starts or ends at a lying leaf, else WorkerHonest (2). */
function truth(w: World, d: { jobId: bigint; interval: bigint; step: bigint }): number {
  const traj = w.model.jobs.get(d.jobId)!;
  const interval = Number(d.interval);
  const j = Number(d.step) - interval * K;
  if (interval !== traj.interval) return 2;
  if (traj === w.trajectories.start && j === 0) return 1;
  if (traj === w.trajectories.end && j === K - 1) return 1;
  return 2;
}

async function stakeTotal(w: World, who: string): Promise<bigint> {
  const acc = await w.sys.stakeManager.account(who);
  return acc.free + acc.locked + acc.unbonding;
}

/**
 * Staking-token wealth of the worker and its sybil that a conviction can move: the worker's stake,
 * both accounts' DisputeManager and DataAvailability credits, and the bonds they hold in escrow in the
 * convicting dispute (bond, unsettled appeal bonds) and challenge, so that a refund of their own bond
 * does not count as a gain. (Token balances and other escrow do not move in a conviction.)
 */
async function coalitionWorth(w: World, disputeId: bigint, challengeId: bigint): Promise<bigint> {
  const { sys } = w;
  const dm = sys.disputeManager;
  const da = sys.dataAvailability;
  const who = [sys.worker.address, w.sybil.address];
  let sum = await stakeTotal(w, sys.worker.address);
  for (const a of who) sum += (await dm.credits(a)) + (await da.credits(a));
  if (disputeId !== 0n) {
    const d = await dm.getDispute(disputeId);
    if (who.includes(d.challenger)) sum += d.bond;
    for (let i = Number(d.appealsSettled); i < Number(d.appeals); i++) {
      const ap = await dm.getAppeal(disputeId, i);
      if (who.includes(ap.appellant)) sum += ap.bond;
    }
  }
  if (challengeId !== 0n) {
    const c = await da.getChallenge(challengeId);
    if (who.includes(c.opener)) sum += c.bond;
  }
  return sum;
}

/**
 * Runs a call that may convict `jobId` through dispute `disputeId` or availability challenge
 * `challengeId` (0: none). When it convicts a job of `sys.worker` (whose sybil may hold the bounty),
 * the worker and sybil together must have lost at least collateral·(1 − challengerBps): cheating
 * never pays beyond what V4.3 prices in.
 */
async function guardConviction(
  w: World,
  jobId: bigint,
  disputeId: bigint,
  challengeId: bigint,
  call: () => Promise<boolean>,
): Promise<boolean> {
  const jm = w.sys.jobMarket;
  const job = await jm.getJob(jobId);
  if (job.worker !== w.sys.worker.address || Number(job.status) !== JobStatus.Submitted) return call();
  if (challengeId !== 0n && disputeId === 0n) disputeId = (await w.sys.dataAvailability.getChallenge(challengeId)).disputeId;
  const before = await coalitionWorth(w, disputeId, challengeId);
  const sybilBefore = await w.sys.disputeManager.credits(w.sybil.address);
  const ok = await call();
  if (ok && Number((await jm.getJob(jobId)).status) === JobStatus.Rejected) {
    const delta = (await coalitionWorth(w, disputeId, challengeId)) - before;
    const priced = job.collateral - (job.collateral * w.challengerBps) / 10_000n;
    expect(delta <= -priced, `job ${jobId} convicted: worker + sybil changed by ${delta}, more than -${priced} (V4.3)`).to.equal(true);
    adversary.convictionsPriced++;
    if ((await w.sys.disputeManager.credits(w.sybil.address)) > sybilBefore) adversary.sybilBounties++;
  }
  return ok;
}

/**
 * resolve(), checking from its events that the silent juror, when drawn in the round, loses its whole
 * jurorLock on every seat it holds, and that no juror loses more than its seats' locks.
 */
async function resolveChecked(w: World, id: bigint, from: HardhatEthersSigner): Promise<boolean> {
  const dm = w.sys.disputeManager;
  const d = await dm.getDispute(id);
  const voting = Number(d.phase) === Phase.Voting;
  const silentSeats = voting ? (await dm.getVote(id, d.round, w.silent.address)).seats : 0n;
  const sent = await sendTx(dm.connect(from).resolve(id, GAS));
  if (sent === null) return false;
  const receipt = (await ethers.provider.getTransactionReceipt(sent.hash))!;
  const topic = dm.interface.getEvent("JurorPenalized").topicHash;
  let silentLost = 0n;
  for (const log of receipt.logs) {
    if (log.topics[0] !== topic) continue;
    const e = dm.interface.parseLog(log)!;
    const seats = (await dm.getVote(id, d.round, e.args.juror as string)).seats;
    expect(e.args.amount as bigint, `juror ${e.args.juror} penalized beyond its seats' locks`).to.be.lte(w.jurorLock * seats);
    if (e.args.amount === w.jurorLock * seats) adversary.muteSlashed++;
    if (e.args.juror === w.silent.address) silentLost += e.args.amount as bigint;
  }
  if (silentSeats > 0n) {
    expect(silentLost, `silent juror drawn in round ${d.round} of dispute ${id}: loses its whole jurorLock per seat`).to.equal(
      w.jurorLock * silentSeats,
    );
    adversary.silentSlashed++;
  }
  return true;
}

/**
 * The stake grinder (v3 V3.3): once a dispute's seed block is mined and before its draw, an actor
 * moves stake every way it can (reserve in and out, free stake, unbonding). No weight may move:
 * every actor's draw weight and the total are the same after the moves, so the draw that follows
 * picks what it would have picked without them.
 */
async function grind(w: World, id: bigint, act: Action): Promise<boolean> {
  const { stakeManager: sm, disputeManager: dm, stakeToken } = w.sys;
  const d = await dm.getDispute(id);
  if (Number(d.phase) !== Phase.AwaitingDraw || d.randomnessBlock === 0n) return false;
  const now = BigInt(await ethers.provider.getBlockNumber());
  if (d.randomnessBlock >= now) await mine(d.randomnessBlock - now + 1n);
  if ((await sm.currentEpoch()) !== d.drawEpoch) return false;
  // Changes queued before this epoch began belong to its snapshot: settle them first (the draw would).
  await send(sm.connect(w.sys.stranger).applyQueued(1_000, GAS));
  const weights = async (): Promise<bigint[]> => [
    await sm.totalJurorWeight(),
    ...(await Promise.all(w.actors.map((a) => sm.jurorWeight(a.address)))),
  ];
  const before = await weights();
  const grinder = pick(w.actors, act.a);
  const amount = BigInt(1 + (act.b % 900)) * E18;
  await stakeToken.mint(grinder.address, amount);
  const acc = await sm.account(grinder.address);
  const moves = [
    () => sm.connect(grinder).stakeForJury(amount, GAS),
    () => sm.connect(grinder).leaveJury(acc.reserve / 2n + 1n, GAS),
    () => sm.connect(grinder).stake(amount, GAS),
    () => sm.connect(grinder).joinJury(acc.free / 2n + 1n, GAS),
    () => sm.connect(grinder).requestUnstake(acc.free / 3n + 1n, GAS),
    () => sm.connect(grinder).applyQueued(100, GAS),
  ];
  for (let i = 0; i < moves.length; i++) if (((act.c >> i) & 1) === 1 || i === act.c % moves.length) await send(moves[i]());
  expect(await weights(), `dispute ${id}: weights moved between its seed and its draw (V3.3)`).to.deep.equal(before);
  adversary.grinds++;
  return send(dm.connect(grinder).drawCommittee(id, GAS));
}

// ------------------------------------------------------------------ actions

interface Action {
  kind: string;
  a: number;
  b: number;
  c: number;
}

function pick<T>(xs: readonly T[], i: number): T {
  return xs[((i % xs.length) + xs.length) % xs.length];
}

function jobIds(w: World): bigint[] {
  return [...w.model.jobs.keys()];
}

function disputeIds(w: World): bigint[] {
  return Array.from({ length: w.model.disputes }, (_, i) => BigInt(i + 1));
}

/**
 * Runs one action; reverts are fine. Returns true when a transaction changed state, i.e. when the
 * invariants need checking again (a reverted call or a time jump leaves every balance as it was).
 */
async function run(w: World, act: Action): Promise<boolean> {
  const { sys } = w;
  const dm = sys.disputeManager;
  const jm = sys.jobMarket;
  const actor = pick(w.actors, act.a);
  switch (act.kind) {
    case "stake": {
      const amount = BigInt(1 + (act.b % 500)) * E18;
      await sys.stakeToken.mint(actor.address, amount);
      return send(sys.stakeManager.connect(actor).stake(amount, GAS));
    }
    case "unstake": {
      const acc = await sys.stakeManager.account(actor.address);
      // Sometimes more than the free stake: must revert whatever is locked.
      const amount = (acc.free * BigInt(1 + (act.b % 100))) / 100n + (act.c % 4 === 0 ? 1n : 0n);
      return send(sys.stakeManager.connect(actor).requestUnstake(amount, GAS));
    }
    case "stakeForJury": {
      const amount = BigInt(1 + (act.b % 500)) * E18;
      await sys.stakeToken.mint(actor.address, amount);
      return send(sys.stakeManager.connect(actor).stakeForJury(amount, GAS));
    }
    case "joinJury": {
      const acc = await sys.stakeManager.account(actor.address);
      return send(
        sys.stakeManager.connect(actor).joinJury((acc.free * BigInt(1 + (act.b % 100))) / 100n + (act.c % 5 === 0 ? 1n : 0n), GAS),
      );
    }
    case "leaveJury": {
      const acc = await sys.stakeManager.account(actor.address);
      const amount = ((acc.reserve + acc.pendingJoin) * BigInt(1 + (act.b % 100))) / 100n + (act.c % 5 === 0 ? 1n : 0n);
      return send(sys.stakeManager.connect(actor).leaveJury(amount, GAS));
    }
    case "applyQueued":
      return send(sys.stakeManager.connect(actor).applyQueued(1 + (act.b % 8), GAS));
    case "nextEpoch": {
      await time.increaseTo(await sys.stakeManager.epochStart((await sys.stakeManager.currentEpoch()) + 1n));
      return true;
    }
    case "withdrawStake":
      return send(sys.stakeManager.connect(act.c % 2 === 0 ? sys.jurors[sys.jurors.length - 1] : actor).withdraw(GAS));
    case "createJob":
      await createJob(w, pick(["honest", "honest", "start", "end"] as const, act.b));
      return true;
    case "cancel": {
      const id = pick(jobIds(w), act.b);
      return send(jm.connect(act.c % 3 === 0 ? actor : sys.requester).cancelJob(id, GAS));
    }
    case "claim":
      return send(jm.connect(act.c % 4 === 0 ? actor : pick(w.workers, act.a)).claimJob(pick(jobIds(w), act.b), GAS));
    case "submit":
      return submit(w, pick(jobIds(w), act.b));
    case "finalize":
      return send(jm.connect(actor).finalize(pick(jobIds(w), act.b), GAS));
    case "expireClaim":
      return send(jm.connect(actor).expireClaim(pick(jobIds(w), act.b), GAS));
    case "drawAuditors":
      return send(sys.auditManager.connect(actor).drawAuditors(pick(jobIds(w), act.b), GAS));
    case "attest": {
      const id = pick(jobIds(w), act.b);
      const auditors = await sys.auditManager.auditorsOf(id);
      if (auditors.length === 0) return false;
      const who = signer(w, pick(auditors, act.c));
      const sample = await sys.auditManager.sampleOf(id, who.address);
      return send(sys.auditManager.connect(who).attest(id, [...sample], GAS));
    }
    case "releaseAttester": {
      const id = pick(jobIds(w), act.b);
      const auditors = await sys.auditManager.auditorsOf(id);
      if (auditors.length === 0) return false;
      return send(sys.auditManager.connect(actor).releaseAttester(id, pick(auditors, act.c), GAS));
    }
    case "openDispute": {
      const challenger = pick([sys.challenger, sys.challenger2, sys.stranger, actor], act.c);
      return openDispute(w, pick(jobIds(w), act.b), act.c % 2 === 0 ? 1 : act.c % INTERVALS, challenger);
    }
    default:
      return runDispute(w, act, actor);
  }
}

async function runDispute(w: World, act: Action, actorPicked: HardhatEthersSigner): Promise<boolean> {
  const { sys } = w;
  const dm = sys.disputeManager;
  const ids = disputeIds(w);
  let actor = actorPicked;
  if (act.kind === "timeJump") {
    await time.increase(pick([30, 600, 3_700, 7_300, 86_401, 3 * 86_400], act.b));
    return false; // time moves no token: nothing to re-check
  }
  if (act.kind === "mine") {
    await mine(1 + (act.b % 6));
    return false;
  }
  if (act.kind === "withdrawCredits") {
    actor = pick([sys.requester, sys.worker, sys.challenger, sys.challenger2, sys.stranger, actor], act.c);
    const pay = await sys.payToken.getAddress();
    const stk = await sys.stakeToken.getAddress();
    const which = act.b % 4;
    if (which === 0) return send(dm.connect(actor).withdraw(GAS));
    if (which === 1) return send(sys.jobMarket.connect(actor).withdraw(pay, GAS));
    if (which === 2) return send(sys.jobMarket.connect(actor).withdraw(stk, GAS));
    return send(sys.auditManager.connect(actor).withdraw(pay, GAS));
  }
  const da = sys.dataAvailability;
  if (act.kind === "timeoutChunk" || act.kind === "answerChunk" || act.kind === "settle") {
    const n = Number(await da.challengeCount());
    if (n === 0) return false;
    const cid = BigInt(1 + (act.b % n));
    const c = await da.getChallenge(cid);
    if (act.kind === "settle") return send(da.connect(actor).settle(cid, GAS));
    if (act.kind === "timeoutChunk") {
      if (act.c % 2 === 0 && BigInt(await time.latest()) <= c.deadline) await time.increaseTo(c.deadline + 1n);
      return guardConviction(w, c.jobId, 0n, cid, () => send(da.connect(actor).timeoutChallenge(cid, GAS)));
    }
    // A withholding worker never answers (one answer in five is withheld).
    if (act.c % 5 === 0) return false;
    const traj = w.model.jobs.get(c.jobId);
    if (traj === undefined) return false;
    if (Number(c.kind) === DAKind.StepLeaves) {
      const x = stepLeafProof(sys, traj, Number(c.interval), Number(c.first));
      // a single-leaf range proof is the leaf's Merkle proof
      return send(da.connect(w.sys.worker).answerStepLeaves(cid, [x.stateHash], x.proof, GAS));
    }
    if (Number(c.kind) === DAKind.Checkpoints) {
      const i = Number(c.interval);
      const x = checkpointProof(traj, i);
      const y = checkpointProof(traj, i + 1);
      return send(da.connect(w.sys.worker).answerCheckpoints(cid, x.stateHash, x.stepRoot, x.proof, y.stateHash, y.stepRoot, y.proof, GAS));
    }
    const file = [...sys.traj.states, ...sys.data.batches].find((f) => f.hash === c.fileHash);
    if (file === undefined) return false; // a lying leaf: the worker has nothing to serve
    const idx = Math.min(Number(c.first), file.chunks.length - 1);
    const { chunk, proof: p } = chunkProof(file, idx);
    return send(da.connect(w.sys.worker).answerChunk(cid, file.bytes.length, chunk, p, GAS));
  }
  if (act.kind === "floodCommit") {
    // A flooding challenger commits without ever opening; anyone may burn the bond after commitTTL.
    const c = ethers.id(`flood:${w.model.salts++}`) as Hex;
    const ok = await send(dm.connect(sys.stranger).commitChallenge(c, GAS));
    if (ok) w.model.commitments.push(c);
    return ok;
  }
  if (act.kind === "expireCommitment") {
    if (w.model.commitments.length === 0) return false;
    const h = pick(w.model.commitments, act.b);
    // Targeted time jump: usually past the commitment's TTL, so the burn can happen in short sequences.
    if (act.c % 4 !== 0) {
      const expiresAt = (await dm.getCommitment(h)).committedAt + (await dm.params()).commitTTL;
      if (BigInt(await time.latest()) <= expiresAt) await time.increaseTo(expiresAt + 1n);
    }
    return send(dm.connect(actor).expireCommitment(h, GAS));
  }
  if (act.kind === "sybil") return runSybil(w, act);
  if (ids.length === 0) return false;
  const id = pick(ids, act.b);
  const d = await dm.getDispute(id);
  const traj = w.model.jobs.get(d.jobId)!;
  const interval = Number(d.interval);
  const challenger = signer(w, d.challenger);
  switch (act.kind) {
    case "pinpoint": {
      const j = act.c % K;
      const x = stepLeafProof(sys, traj, interval, j);
      const y = stepLeafProof(sys, traj, interval, j + 1);
      const stored = act.a % 3 === 0; // sometimes rely on stored leaves (empty proofs)
      return send(dm.connect(challenger).pinpoint(id, j, stored ? { ...x, proof: [] } : x, stored ? { ...y, proof: [] } : y, GAS));
    }
    case "timeoutPinpoint":
      if (act.c % 2 === 0 && BigInt(await time.latest()) <= d.deadline) await time.increaseTo(d.deadline + 1n);
      return send(dm.connect(actor).timeoutPinpoint(id, GAS));
    case "proveBoundary": {
      const atEnd = act.c % 2 === 1;
      const x = stepLeafProof(sys, traj, interval, atEnd ? K : 0);
      return guardConviction(w, d.jobId, id, 0n, () => send(dm.connect(actor).proveBoundaryMismatch(id, atEnd, x.stateHash, x.proof, GAS)));
    }
    case "challengeChunk": {
      // the dispute's challenger, a juror of its round, or a stranger (refused)
      const who = act.c % 3 === 0 ? actor : challenger;
      const j = act.c % (K + 1);
      if (act.b % 2 === 0) return send(sys.dataAvailability.connect(who).demandStepLeaves(d.jobId, id, interval, j, 1, GAS));
      return send(sys.dataAvailability.connect(who).challengeStateChunk(d.jobId, id, interval, j, act.c % 3, GAS));
    }
    case "challengeBatch": {
      const bi = act.c % sys.data.batches.length;
      const who = act.c % 3 === 0 ? actor : challenger;
      return send(
        sys.dataAvailability
          .connect(who)
          .challengeBatchChunk(d.jobId, id, bi, sys.data.batches[bi].hash, proof(sys.data.leaves, bi), 0, GAS),
      );
    }
    case "proveLeaves": {
      const j = act.c % (K + 1);
      const x = stepLeafProof(sys, traj, interval, j);
      return send(sys.dataAvailability.connect(actor).proveStepLeaves(d.jobId, interval, j, [x.stateHash], x.proof, GAS));
    }
    case "reopen":
      return send(dm.connect(challenger).reopenDispute(id, 0, GAS)).then((ok) => {
        if (ok) w.model.disputes++;
        return ok;
      });
    case "draw": {
      const now = BigInt(await ethers.provider.getBlockNumber());
      if (act.c % 4 !== 0 && d.randomnessBlock >= now) await mine(d.randomnessBlock - now + 1n);
      return send(dm.connect(actor).drawCommittee(id, GAS));
    }
    case "grind":
      return grind(w, id, act);
    case "commitVotes": {
      if (Number(d.phase) !== Phase.Voting) return false;
      const r = await dm.getRound(id, d.round);
      let any = false;
      for (let i = 0; i < r.jurors.length; i++) {
        // The lazy juror never re-executes: it always commits, and always the prior (WorkerHonest).
        const lazy = r.jurors[i] === w.lazy.address;
        if (!lazy && ((act.c >> i) & 1) === 0 && act.c % 7 !== 0) continue; // some jurors stay silent
        if (r.jurors[i] === w.silent.address) continue; // the silent juror always does
        // Jurors vote the truth of the step, except in one action in four where they vote at random.
        const vote = lazy ? 2 : act.a % 4 === 0 ? 1 + ((act.a + i) % 3) : truth(w, d);
        if (lazy) adversary.lazyVotes++;
        const salt = ethers.id(`v:${w.model.salts++}`) as Hex;
        const ok = await send(
          dm.connect(signer(w, r.jurors[i])).commitVote(id, voteCommitment(id, Number(d.round), r.jurors[i], vote, salt), GAS),
        );
        if (ok) w.model.votes.set(`${id}:${d.round}:${r.jurors[i]}`, { vote, salt });
        any ||= ok;
      }
      return any;
    }
    case "revealVotes": {
      if (Number(d.phase) !== Phase.Voting) return false;
      if (act.c % 3 !== 0 && BigInt(await time.latest()) <= d.commitEnd) await time.increaseTo(d.commitEnd + 1n);
      const r = await dm.getRound(id, d.round);
      let any = false;
      for (let i = 0; i < r.jurors.length; i++) {
        const v = w.model.votes.get(`${id}:${d.round}:${r.jurors[i]}`);
        if (v === undefined || ((act.b >> i) & 1) === 1) continue;
        const ok = await send(dm.connect(signer(w, r.jurors[i])).revealVote(id, v.vote, v.salt, GAS));
        if (ok && v.vote !== truth(w, d)) w.model.tainted.add(d.jobId); // a wrong ruling may follow
        any ||= ok;
      }
      return any;
    }
    case "resolve":
      if (act.c % 2 === 0 && Number(d.phase) === Phase.Voting && BigInt(await time.latest()) <= d.revealEnd)
        await time.increaseTo(d.revealEnd + 1n);
      return resolveChecked(w, id, actor);
    case "appeal": {
      const job = await sys.jobMarket.getJob(d.jobId);
      const who = act.c % 3 === 0 ? actor : act.c % 3 === 1 ? challenger : signer(w, job.worker);
      if (who !== challenger) {
        await sys.stakeToken.mint(who.address, 1_000n * E18);
        await sys.stakeToken.connect(who).approve(await dm.getAddress(), ethers.MaxUint256);
      }
      return send(dm.connect(who).appeal(id, GAS));
    }
    case "finalizeRuling":
      if (act.c % 2 === 0 && Number(d.phase) === Phase.Ruled && BigInt(await time.latest()) <= d.appealEnd)
        await time.increaseTo(d.appealEnd + 1n);
      if (Number(d.ruling) !== Ruling.WorkerFault) return send(dm.connect(actor).finalizeRuling(id, GAS)); // only WorkerFault convicts
      return guardConviction(w, d.jobId, id, 0n, () => send(dm.connect(actor).finalizeRuling(id, GAS)));
    case "closeMoot":
      return send(dm.connect(actor).closeMoot(id, GAS));
    default:
      throw new Error(`unknown action ${act.kind}`);
  }
}

/**
 * The worker's sybil challenger: opens disputes on the worker's own jobs (sometimes committing before
 * an honest challenger, so it heads the queue), pinpoints honest steps, opens availability challenges
 * in its own disputes, and otherwise lets its deadlines pass.
 */
async function runSybil(w: World, act: Action): Promise<boolean> {
  const { sys } = w;
  const dm = sys.disputeManager;
  const mode = act.b % 3;
  if (mode === 0) {
    const ids = jobIds(w);
    let jobId: bigint | undefined;
    for (let i = 0; i < ids.length && jobId === undefined; i++) {
      const id = pick(ids, act.c + i);
      const job = await sys.jobMarket.getJob(id);
      if (job.worker === sys.worker.address && Number(job.status) === JobStatus.Submitted) jobId = id;
    }
    if (jobId === undefined) return false;
    const interval = act.c % 2 === 0 ? 1 : act.c % INTERVALS;
    if (act.a % 2 === 1) {
      const ok = await openDispute(w, jobId, interval, w.sybil);
      if (ok) w.model.sybilDisputes.push(BigInt(w.model.disputes));
      return ok;
    }
    // Early: the sybil commits first, an honest challenger then commits and opens, then the sybil opens.
    const traj = w.model.jobs.get(jobId)!;
    const salt = ethers.id(`salt:${w.model.salts++}`) as Hex;
    if (!(await send(dm.connect(w.sybil).commitChallenge(challengeCommitment(jobId, interval, w.sybil.address, salt), GAS)))) return false;
    await openDispute(w, jobId, interval, pick([sys.challenger, sys.stranger], act.a >> 1));
    const ok = await send(
      dm.connect(w.sybil).openDispute(jobId, interval, salt, checkpointProof(traj, interval), checkpointProof(traj, interval + 1), 0, GAS),
    );
    if (ok) {
      w.model.disputes++;
      w.model.sybilDisputes.push(BigInt(w.model.disputes));
    } else {
      w.model.commitments.push(challengeCommitment(jobId, interval, w.sybil.address, salt) as Hex);
    }
    return true; // the commitment's bond moved even if the opening failed
  }
  if (w.model.sybilDisputes.length === 0) return false;
  const id = pick(w.model.sybilDisputes, act.c);
  const d = await dm.getDispute(id);
  const traj = w.model.jobs.get(d.jobId)!;
  const interval = Number(d.interval);
  if (mode === 1) {
    // An honest step: the replay will clear the worker.
    const honest = Array.from({ length: K }, (_, j) => j).filter(
      (j) => truth(w, { jobId: d.jobId, interval: d.interval, step: d.interval * BigInt(K) + BigInt(j) }) === 2,
    );
    if (honest.length === 0) return false;
    const j = pick(honest, act.a);
    return send(dm.connect(w.sybil).pinpoint(id, j, stepLeafProof(sys, traj, interval, j), stepLeafProof(sys, traj, interval, j + 1), GAS));
  }
  const j = act.a % (K + 1);
  if (act.a % 2 === 0) return send(sys.dataAvailability.connect(w.sybil).demandStepLeaves(d.jobId, id, interval, j, 1, GAS));
  return send(sys.dataAvailability.connect(w.sybil).challengeStateChunk(d.jobId, id, interval, j, act.c % 3, GAS));
}

const KINDS: [string, number][] = [
  ["stake", 1],
  ["unstake", 2],
  ["withdrawStake", 2],
  ["createJob", 2],
  ["cancel", 1],
  ["claim", 2],
  ["submit", 2],
  ["finalize", 3],
  ["expireClaim", 1],
  ["drawAuditors", 1],
  ["attest", 2],
  ["releaseAttester", 1],
  ["openDispute", 3],
  ["pinpoint", 3],
  ["timeoutPinpoint", 1],
  ["proveBoundary", 2],
  ["challengeChunk", 1],
  ["challengeBatch", 1],
  ["answerChunk", 2],
  ["timeoutChunk", 1],
  ["settle", 1],
  ["floodCommit", 1],
  ["expireCommitment", 1],
  ["proveLeaves", 1],
  ["reopen", 1],
  ["draw", 3],
  ["commitVotes", 4],
  ["revealVotes", 4],
  ["resolve", 3],
  ["appeal", 1],
  ["finalizeRuling", 3],
  ["closeMoot", 1],
  ["withdrawCredits", 3],
  ["timeJump", 3],
  ["mine", 1],
  ["sybil", 4],
  ["stakeForJury", 1],
  ["joinJury", 1],
  ["leaveJury", 1],
  ["applyQueued", 1],
  ["nextEpoch", 1],
  ["grind", 3],
];

const actionArb: fc.Arbitrary<Action> = fc.record({
  kind: fc.oneof(...KINDS.map(([k, weight]) => ({ arbitrary: fc.constant(k), weight }))),
  a: fc.nat({ max: 1_000 }),
  b: fc.nat({ max: 1_000 }),
  c: fc.nat({ max: 1_000 }),
});

// ------------------------------------------------------------------ invariants

interface Seen {
  jobStatus: number[];
  disputePhase: number[];
}

async function checkInvariants(w: World, seen: Seen, step: number, act: Action): Promise<Seen> {
  const r = await w.probe.report(w.actorAddresses, w.payees);
  const where = `after action ${step} (${JSON.stringify(act)})`;
  expect(r.smBalance, `StakeManager balance = free + locked + unbonding ${where}`).to.equal(r.smOwed);
  expect(r.dmBalance, `DisputeManager balance = bonds + pots + appeals + commitment bonds + credits ${where}`).to.equal(r.dmOwed);
  expect(r.daBalance, `DataAvailability balance = challenge bonds + credits ${where}`).to.equal(r.daOwed);
  expect(r.jmStakeBalance, `JobMarket staking-token balance = credits ${where}`).to.equal(r.jmStakeOwed);
  expect(r.jmPayBalance, `JobMarket payment-token balance = live escrow + credits ${where}`).to.equal(r.jmPayOwed);
  expect(r.amPayBalance, `AuditManager balance = unreleased fee shares + credits ${where}`).to.equal(r.amPayOwed);
  expect(r.strayBalance, `no tokens where none belong ${where}`).to.equal(0n);
  expect(r.lockMismatch, `locked stake = live locks (${r.lockedReported} vs ${r.lockedLive}) ${where}`).to.equal(ethers.ZeroAddress);

  const jobStatus = r.jobStatus.map(Number);
  const disputePhase = r.disputePhase.map(Number);
  seen.jobStatus.forEach((s, i) => {
    if (TERMINAL_JOB.has(s)) expect(jobStatus[i], `job ${i + 1} left terminal status ${s} ${where}`).to.equal(s);
  });
  seen.disputePhase.forEach((p, i) => {
    if (p === Phase.Closed) expect(disputePhase[i], `dispute ${i + 1} reopened ${where}`).to.equal(p);
  });

  // Locked stake is never unbondable: asking for one wei more than the free stake reverts.
  const holder = pick(w.actors, step);
  const acc = await w.sys.stakeManager.account(holder.address);
  if (acc.locked > 0n) {
    await expect(w.sys.stakeManager.connect(holder).requestUnstake.staticCall(acc.free + 1n)).to.be.revertedWithCustomError(
      w.sys.stakeManager,
      "StakeManagerInsufficientFreeStake",
    );
  }
  return { jobStatus, disputePhase };
}

/** Nobody is paid twice, and only the job's worker: at most one terminal event per job (one eth_getLogs). */
async function checkPayments(w: World, fromBlock: number): Promise<void> {
  const jm = w.sys.jobMarket;
  const ends = (["JobFinalized", "JobRejected", "JobCancelled"] as const).map((e) => jm.interface.getEvent(e)!.topicHash);
  const logs = await ethers.provider.getLogs({ address: await jm.getAddress(), fromBlock, topics: [ends] });
  const count = new Map<bigint, number>();
  for (const log of logs) {
    const e = jm.interface.parseLog(log)!;
    const jobId = e.args.jobId as bigint;
    count.set(jobId, (count.get(jobId) ?? 0) + 1);
    expect(count.get(jobId), `job ${jobId} ended twice (${e.name})`).to.equal(1);
    if (e.name === "JobFinalized") {
      const job = await jm.getJob(jobId);
      expect(e.args.worker, `job ${jobId} paid to someone other than its worker`).to.equal(job.worker);
      expect(e.args.reward).to.equal(job.reward);
    }
  }
}

// ------------------------------------------------------------------ liveness (V5.2)

const MAX_DRIVE_ROUNDS = 12;
/** Longer than any deadline can be ahead: challenge window + maxExtension, maxDrawWait, every timeout. */
const DRIVE_JUMP = 3 * 86_400;

/**
 * V5.2: every live job and dispute always has a permissionless call that moves it on. A stranger,
 * using only finalize, timeoutPinpoint, timeoutChallenge, drawCommittee, resolve, finalizeRuling,
 * closeMoot, settle and expireCommitment, and waiting (each round first jumps past every deadline
 * that can be ahead and mines the randomness delay), must bring every Submitted job to Finalized or
 * Rejected, every dispute to Closed, every availability challenge out of Open (answered ones to
 * Settled) and every unused commitment to its burn. A round where no call succeeds while something is
 * live fails, naming each live object and its phase.
 */
async function drive(w: World): Promise<void> {
  const { sys } = w;
  const dm = sys.disputeManager.connect(sys.stranger);
  const da = sys.dataAvailability.connect(sys.stranger);
  const jm = sys.jobMarket.connect(sys.stranger);
  const jobOf = new Map<number, bigint>();
  const burned = new Set<string>();
  const attempt = async (what: string, call: () => Promise<boolean>): Promise<boolean> => {
    const ok = await call();
    if (ok) adversary.driveCalls.set(what, (adversary.driveCalls.get(what) ?? 0) + 1);
    return ok;
  };
  const over = new Set<bigint>(); // challenges TimedOut or Settled: terminal
  adversary.drives++;
  for (let round = 0; ; round++) {
    // Phases and statuses do not move with time, so this report also describes the state after the jump.
    const r = await w.probe.report(w.actorAddresses, w.payees);
    const jobLive = (jobId: bigint) => Number(r.jobStatus[Number(jobId) - 1]) === JobStatus.Submitted;
    const anyLive = r.jobStatus.some((x) => Number(x) === JobStatus.Submitted) || r.disputePhase.some((x) => Number(x) !== Phase.Closed);
    const nc = Number(await da.challengeCount());
    if (!anyLive && w.model.commitments.every((h) => burned.has(h))) {
      // Nothing live in the JobMarket and DisputeManager: the challenges only need a last look.
      let open = false;
      for (let cid = 1n; cid <= BigInt(nc) && !open; cid++)
        if (!over.has(cid))
          open = new Set<number>([ChallengeStatus.Open, ChallengeStatus.Answered]).has(Number((await da.getChallenge(cid)).status));
      if (!open) return;
    }
    await time.increase(DRIVE_JUMP);
    await mine(3);
    const live: string[] = [];
    let moved = false;
    for (let cid = 1n; cid <= BigInt(nc); cid++) {
      if (over.has(cid)) continue;
      const c = await da.getChallenge(cid);
      if (Number(c.status) >= ChallengeStatus.TimedOut) over.add(cid);
      if (Number(c.status) === ChallengeStatus.Open) {
        live.push(`challenge ${cid} Open (job ${c.jobId}, dispute ${c.disputeId})`);
        moved =
          (await attempt("timeoutChallenge", () =>
            guardConviction(w, c.jobId, c.disputeId, cid, () => send(da.timeoutChallenge(cid, GAS))),
          )) || moved;
      } else if (Number(c.status) === ChallengeStatus.Answered && !jobLive(c.jobId)) {
        live.push(`challenge ${cid} Answered, job ${c.jobId} over`);
        moved = (await attempt("settle", () => send(da.settle(cid, GAS)))) || moved;
      }
    }
    const disputesOf = new Set<bigint>();
    for (let i = 0; i < r.disputePhase.length; i++) {
      const phase = Number(r.disputePhase[i]);
      if (phase === Phase.Closed || phase === Phase.None) continue;
      const id = BigInt(i + 1);
      if (!jobOf.has(i)) jobOf.set(i, (await dm.getDispute(id)).jobId);
      const jobId = jobOf.get(i)!;
      disputesOf.add(jobId);
      live.push(`dispute ${id} ${phaseName(phase)} (job ${jobId})`);
      let ok: boolean;
      if (!jobLive(jobId)) ok = await attempt("closeMoot", () => send(dm.closeMoot(id, GAS)));
      else if (phase === Phase.Pinpointing) ok = await attempt("timeoutPinpoint", () => send(dm.timeoutPinpoint(id, GAS)));
      else if (phase === Phase.AwaitingDraw) ok = await attempt("drawCommittee", () => send(dm.drawCommittee(id, GAS)));
      else if (phase === Phase.Voting) ok = await attempt("resolve", () => resolveChecked(w, id, sys.stranger));
      else if (Number((await dm.getDispute(id)).ruling) !== Ruling.WorkerFault)
        ok = await attempt("finalizeRuling", () => send(dm.finalizeRuling(id, GAS)));
      else ok = await attempt("finalizeRuling", () => guardConviction(w, jobId, id, 0n, () => send(dm.finalizeRuling(id, GAS))));
      moved ||= ok;
    }
    for (let i = 0; i < r.jobStatus.length; i++) {
      const id = BigInt(i + 1);
      if (!jobLive(id)) continue;
      live.push(`job ${id} Submitted`);
      if (!disputesOf.has(id)) moved = (await attempt("finalize", () => send(jm.finalize(id, GAS)))) || moved;
    }
    for (const h of w.model.commitments) {
      if (burned.has(h)) continue;
      if ((await dm.getCommitment(h)).bond === 0n) {
        burned.add(h); // used after all, or burned during the sequence
        continue;
      }
      live.push(`commitment ${h.slice(0, 10)} unused`);
      if (await attempt("expireCommitment", () => send(dm.expireCommitment(h, GAS)))) {
        burned.add(h);
        moved = true;
      }
    }
    if (live.length === 0) return;
    expect(moved, `V5.2: no permissionless call moves on: ${live.join("; ")}`).to.equal(true);
    expect(round, `V5.2: still live after ${MAX_DRIVE_ROUNDS} rounds of permissionless calls: ${live.join("; ")}`).to.be.lessThan(
      MAX_DRIVE_ROUNDS,
    );
  }
}

/** After the drive: nothing Submitted, Open or live is left, and an honest worker was convicted only when it withheld data or a juror lied. */
async function checkDriven(w: World): Promise<void> {
  const r = await w.probe.report(w.actorAddresses, w.payees);
  // A Submitted job can only end Finalized or Rejected (terminal statuses never move: checkInvariants).
  r.jobStatus.forEach((s, i) => expect(Number(s), `V5.2: job ${i + 1} left ${jobStatusName(s)}`).to.not.equal(JobStatus.Submitted));
  r.disputePhase.forEach((ph, i) => expect(Number(ph), `V5.2: dispute ${i + 1} left ${phaseName(ph)}`).to.equal(Phase.Closed));
  const da = w.sys.dataAvailability;
  const withheld = new Set<bigint>();
  const nc = Number(await da.challengeCount());
  for (let cid = 1; cid <= nc; cid++) {
    const c = await da.getChallenge(cid);
    expect(Number(c.status), `V5.2: challenge ${cid} still open`).to.not.equal(ChallengeStatus.Open);
    if (Number(c.status) === ChallengeStatus.TimedOut) withheld.add(c.jobId);
  }
  for (const [id, traj] of w.model.jobs) {
    if (traj !== w.trajectories.honest || Number(r.jobStatus[Number(id) - 1]) !== JobStatus.Rejected) continue;
    expect(withheld.has(id) || w.model.tainted.has(id), `honest job ${id} convicted without withholding data or a lying juror`).to.equal(
      true,
    );
  }
}

describe("System invariants (random call sequences)", function () {
  it(`hold after every action of ${RUNS} random sequences`, async function () {
    // About 0.15 s a sequence on a quiet 2-core machine, several times that on a loaded one: the
    // limit scales with the runs so that load never fails the suite (and a timed-out run never goes
    // on sending transactions under the next tests).
    this.timeout(Math.max(600_000, RUNS * 1_500));
    const stats = { actions: 0, effective: 0, fixtureMs: 0, actMs: 0, checkMs: 0, driveMs: 0 };
    const clock = () => performance.now();
    const byKind = new Map<string, number>();
    const baseSeen = await checkInvariants(await loadFixture(base), { jobStatus: [], disputePhase: [] }, -1, {
      kind: "fixture",
      a: 0,
      b: 0,
      c: 0,
    });
    const started = Date.now();
    const cpu0 = process.cpuUsage();
    await fc.assert(
      fc.asyncProperty(
        fc.array(actionArb, { minLength: MIN_LEN, maxLength: MAX_LEN }),
        fc.nat({ max: DRIVE_EVERY - 1 }),
        async (actions, driveDraw) => {
          const effectiveBefore = stats.effective;
          let t0 = clock();
          const w = cloneWorld(await loadFixture(base));
          const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
          // The fixture's own state was checked once, below; every sequence starts from it.
          let seen: Seen = baseSeen;
          stats.fixtureMs += clock() - t0;
          for (let i = 0; i < actions.length; i++) {
            stats.actions++;
            t0 = clock();
            const changed = await run(w, actions[i]);
            stats.actMs += clock() - t0;
            if (changed) {
              stats.effective++;
              byKind.set(actions[i].kind, (byKind.get(actions[i].kind) ?? 0) + 1);
              t0 = clock();
              seen = await checkInvariants(w, seen, i, actions[i]);
              stats.checkMs += clock() - t0;
            }
          }
          if (driveDraw === 0) {
            // V5.2: a stranger drives everything live to its end; conservation must still hold after it.
            t0 = clock();
            await drive(w);
            stats.driveMs += clock() - t0;
            t0 = clock();
            seen = await checkInvariants(w, seen, actions.length, { kind: "drive", a: 0, b: 0, c: 0 });
            await checkDriven(w);
            stats.checkMs += clock() - t0;
          }
          if (stats.effective > effectiveBefore || driveDraw === 0) {
            t0 = clock();
            await checkPayments(w, fromBlock);
            stats.checkMs += clock() - t0;
          }
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: underCoverage },
    );
    const secs = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `      ${RUNS} sequences, ${stats.actions} actions (${stats.effective} changed state) in ${secs.toFixed(1)} s wall, ` +
        `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU (fixture+first check ${(stats.fixtureMs / 1e3).toFixed(1)} s, ` +
        `actions ${(stats.actMs / 1e3).toFixed(1)} s, checks ${(stats.checkMs / 1e3).toFixed(1)} s, V5.2 drives ${(stats.driveMs / 1e3).toFixed(1)} s)`,
    );
    const calls = [...adversary.driveCalls]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    console.log(`      V5.2 drives ${adversary.drives}, stranger calls that moved state: ${calls}`);
    console.log(
      `      adversaries: convictions of the sybil's worker priced ${adversary.convictionsPriced} (sybil paid a bounty in ${adversary.sybilBounties}), ` +
        `juror who never revealed slashed ${adversary.muteSlashed} (the silent juror ${adversary.silentSlashed}), ` +
        `stake grinds before a draw ${adversary.grinds}, lazy juror votes ${adversary.lazyVotes}`,
    );
    console.log(
      `      state changes by action: ${[...byKind]
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}`,
    );
    expect(stats.effective).to.be.greaterThan(stats.actions / 5);
    if (RUNS >= 400 && !underCoverage) {
      // The targeted time jumps and fixture states make these reachable in short sequences. Rarer
      // ones are asserted only where a run is long enough to reach them reliably (at 400
      // sequences: reopen ≈ 3 times, a stake grind ≈ once, expireCommitment about once per 300
      // sequences), so the default run cannot fail by chance; the dedicated adversarial tests
      // cover grinding and reopening on their own.
      const reachable = ["settle", "sybil", ...(RUNS >= 1_000 ? ["reopen"] : []), ...(RUNS >= 2_000 ? ["expireCommitment"] : [])];
      for (const k of reachable) expect(byKind.get(k) ?? 0, `${k} never changed state`).to.be.greaterThan(0);
      expect(adversary.sybilBounties, "no conviction paid the sybil").to.be.greaterThan(0);
      expect(adversary.silentSlashed, "the silent juror was never drawn and settled").to.be.greaterThan(0);
      expect(adversary.lazyVotes, "the lazy juror never voted").to.be.greaterThan(0);
      if (RUNS >= 1_000) expect(adversary.grinds, "the stake grinder never ground a draw").to.be.greaterThan(0);
    }
  });
});
