/**
 * System invariants (PROTOCOL.md §8) under random sequences of calls by several actors over the
 * whole protocol: staking, the job lifecycle, audits, disputes with committees, chunk challenges,
 * boundary proofs, withdrawals and time jumps. After every action that changed state, one
 * `eth_call` to the test-only InvariantProbe reads every balance next to what the contracts' views
 * say is owed (a reverted call or a time jump moves no token, so re-checking then proves nothing).
 *
 * Each sequence starts from one snapshot (loadFixture → evm_revert) holding jobs in every live
 * status and two running disputes, so short sequences (5–10 actions) still reach deep states.
 * FC_RUNS sets the number of sequences (default 2,000, e.g. FC_RUNS=20000 for a long run; 40
 * under coverage); FC_SEED replays a run.
 */
import { expect } from "chai";
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
} from "../helpers/system";
import { checkpointProof, chunkProof, splitStepProof, splitTrajectory, stepProof, type SplitTrajectory } from "../helpers/trees";
import { proof, type Hex } from "../helpers/merkle";

const underCoverage = (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;
const RUNS = Number(process.env.FC_RUNS ?? (underCoverage ? 40 : 2_000));
const MIN_LEN = 5;
const MAX_LEN = 10;
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

const JobStatus = { None: 0, Open: 1, Claimed: 2, Submitted: 3, Finalized: 4, Rejected: 5, Cancelled: 6 } as const;
const TERMINAL_JOB = new Set<number>([JobStatus.Finalized, JobStatus.Rejected, JobStatus.Cancelled]);
const Phase = { None: 0, Pinpointing: 1, AwaitingDraw: 2, Voting: 3, Ruled: 4, Closed: 5 } as const;
const DAKind = { None: 0, Checkpoints: 1, StepLeaves: 2, StateChunk: 3, BatchChunk: 4 } as const;
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
  commitments: Hex[];
}

interface World {
  sys: System;
  probe: InvariantProbe;
  actors: HardhatEthersSigner[];
  workers: HardhatEthersSigner[];
  actorAddresses: string[];
  /** The only accounts the JobMarket may ever credit: the requester and the workers. */
  payees: string[];
  trajectories: Record<TrajKind, SplitTrajectory>;
  model: Model;
}

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
  try {
    await tx;
    return true;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/revert/i.test(msg)) return false;
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
      .submitResult(jobId, traj.checkpointRoot, traj.stateHashes[T], "ipfs://r", traj.stepRoots[0], proof(traj.checkpointLeaves, 0), proof(traj.checkpointLeaves, n - 1), GAS),
  );
}

async function openDispute(w: World, jobId: bigint, interval: number, challenger: HardhatEthersSigner): Promise<boolean> {
  const traj = w.model.jobs.get(jobId);
  if (traj === undefined) return false;
  const salt = ethers.id(`salt:${w.model.salts++}`) as Hex;
  const dm = w.sys.disputeManager;
  if (!(await send(dm.connect(challenger).commitChallenge(challengeCommitment(jobId, interval, challenger.address, salt), GAS)))) return false;
  const ok = await send(dm.connect(challenger).openDispute(jobId, interval, salt, checkpointProof(traj, interval), checkpointProof(traj, interval + 1), 0, GAS));
  if (ok) w.model.disputes++;
  return ok;
}

function signer(w: World, address: string): HardhatEthersSigner {
  return w.actors.find((a) => a.address === address)!;
}

async function base(): Promise<World> {
  const sys = await deploySystem();
  const probe = (await ethers.deployContract("InvariantProbe", [
    await sys.stakeManager.getAddress(), await sys.jobMarket.getAddress(), await sys.auditManager.getAddress(),
    await sys.disputeManager.getAddress(), await sys.payToken.getAddress(),
  ])) as unknown as InvariantProbe;
  const actors = [sys.requester, sys.worker, sys.challenger, sys.challenger2, sys.stranger, ...sys.jurors];
  // A second worker, so collateral locks of two accounts interleave.
  const worker2 = sys.challenger2;
  await sys.stakeToken.mint(worker2.address, WORKER_STAKE);
  await sys.stakeToken.connect(worker2).approve(await sys.stakeManager.getAddress(), ethers.MaxUint256);
  await sys.stakeManager.connect(worker2).stake(WORKER_STAKE);
  for (const a of actors) await sys.stakeToken.connect(a).approve(await sys.stakeManager.getAddress(), ethers.MaxUint256);
  const trajectories = { honest: trajectory(sys, "honest"), start: trajectory(sys, "start"), end: trajectory(sys, "end") };
  const payees = [sys.requester.address, sys.worker.address, worker2.address];
  const w: World = { sys, probe, actors, actorAddresses: actors.map((a) => a.address), payees, workers: [sys.worker, worker2], trajectories, model: { jobs: new Map(), votes: new Map(), salts: 0, disputes: 0, chunks: 0, commitments: [] } };

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
  // Dispute 1 on job 3 interval 1 with a committee voting; dispute 2 on job 4 interval 1, pinpointing.
  await openDispute(w, 3n, 1, sys.challenger);
  const a = stepProof(sys.traj, 1, 0);
  const b = stepProof(sys.traj, 1, 1);
  await sys.disputeManager.connect(sys.challenger).pinpoint(1n, 0, a, b);
  await mine(3);
  await sys.disputeManager.drawCommittee(1n);
  // Two of its three jurors committed (votes 1 and 2); the third may still commit or stay silent.
  const r1 = await sys.disputeManager.getRound(1n, 0);
  for (let i = 0; i < 2; i++) {
    const salt = ethers.id(`fixture vote ${i}`) as Hex;
    await sys.disputeManager.connect(signer(w, r1.jurors[i])).commitVote(1n, voteCommitment(1n, 0, r1.jurors[i], 1 + i, salt));
    w.model.votes.set(`1:0:${r1.jurors[i]}`, { vote: 1 + i, salt });
  }
  await openDispute(w, 4n, 1, sys.stranger);
  // Dispute 3 on job 5 interval 0: ruled WorkerHonest, appealable.
  await openDispute(w, 5n, 0, sys.challenger);
  const c = stepProof(sys.traj, 0, 1);
  const e = stepProof(sys.traj, 0, 2);
  await sys.disputeManager.connect(sys.challenger).pinpoint(3n, 1, c, e);
  await mine(3);
  await sys.disputeManager.drawCommittee(3n);
  const r3 = await sys.disputeManager.getRound(3n, 0);
  for (let i = 0; i < r3.jurors.length; i++) {
    const salt = ethers.id(`fixture vote 3:${i}`) as Hex;
    await sys.disputeManager.connect(signer(w, r3.jurors[i])).commitVote(3n, voteCommitment(3n, 0, r3.jurors[i], 2, salt));
    w.model.votes.set(`3:0:${r3.jurors[i]}`, { vote: 2, salt });
  }
  for (const j of r3.jurors) await sys.disputeManager.connect(signer(w, j)).revealVote(3n, 2, w.model.votes.get(`3:0:${j}`)!.salt);
  await sys.disputeManager.resolve(3n);
  // Job 3's auditors are drawn.
  await sys.auditManager.drawAuditors(3n);
  return w;
}

/** Copies the fixture's off-chain model, so every sequence starts from the same knowledge. */
function cloneWorld(w: World): World {
  return { ...w, model: { ...w.model, jobs: new Map(w.model.jobs), votes: new Map(w.model.votes), commitments: [...w.model.commitments] } };
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
      return send(da.connect(actor).timeoutChallenge(cid, GAS));
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
    return send(dm.connect(actor).expireCommitment(pick(w.model.commitments, act.b), GAS));
  }
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
      return send(dm.connect(actor).proveBoundaryMismatch(id, atEnd, x.stateHash, x.proof, GAS));
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
      return send(sys.dataAvailability.connect(who).challengeBatchChunk(d.jobId, id, bi, sys.data.batches[bi].hash, proof(sys.data.leaves, bi), 0, GAS));
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
    case "commitVotes": {
      if (Number(d.phase) !== Phase.Voting) return false;
      const r = await dm.getRound(id, d.round);
      let any = false;
      for (let i = 0; i < r.jurors.length; i++) {
        if (((act.c >> i) & 1) === 0 && act.c % 7 !== 0) continue; // some jurors stay silent
        const vote = 1 + ((act.a + i) % 3);
        const salt = ethers.id(`v:${w.model.salts++}`) as Hex;
        const ok = await send(dm.connect(signer(w, r.jurors[i])).commitVote(id, voteCommitment(id, Number(d.round), r.jurors[i], vote, salt), GAS));
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
        any = (await send(dm.connect(signer(w, r.jurors[i])).revealVote(id, v.vote, v.salt, GAS))) || any;
      }
      return any;
    }
    case "resolve":
      if (act.c % 2 === 0 && Number(d.phase) === Phase.Voting && BigInt(await time.latest()) <= d.revealEnd) await time.increaseTo(d.revealEnd + 1n);
      return send(dm.connect(actor).resolve(id, GAS));
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
      if (act.c % 2 === 0 && Number(d.phase) === Phase.Ruled && BigInt(await time.latest()) <= d.appealEnd) await time.increaseTo(d.appealEnd + 1n);
      return send(dm.connect(actor).finalizeRuling(id, GAS));
    case "closeMoot":
      return send(dm.connect(actor).closeMoot(id, GAS));
    default:
      throw new Error(`unknown action ${act.kind}`);
  }
}

const KINDS: [string, number][] = [
  ["stake", 1], ["unstake", 2], ["withdrawStake", 2], ["createJob", 2], ["cancel", 1], ["claim", 2], ["submit", 2],
  ["finalize", 3], ["expireClaim", 1], ["drawAuditors", 1], ["attest", 2], ["releaseAttester", 1], ["openDispute", 3],
  ["pinpoint", 3], ["timeoutPinpoint", 1], ["proveBoundary", 2], ["challengeChunk", 1], ["challengeBatch", 1],
  ["answerChunk", 2], ["timeoutChunk", 1], ["settle", 1], ["floodCommit", 1], ["expireCommitment", 1], ["proveLeaves", 1],
  ["reopen", 1], ["draw", 3], ["commitVotes", 4], ["revealVotes", 4], ["resolve", 3],
  ["appeal", 1], ["finalizeRuling", 3], ["closeMoot", 1], ["withdrawCredits", 3], ["timeJump", 3], ["mine", 1],
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

describe("System invariants (random call sequences)", function () {
  it(`hold after every action of ${RUNS} random sequences`, async function () {
    const stats = { actions: 0, effective: 0, fixtureMs: 0, actMs: 0, checkMs: 0 };
    const clock = () => performance.now();
    const byKind = new Map<string, number>();
    const baseSeen = await checkInvariants(await loadFixture(base), { jobStatus: [], disputePhase: [] }, -1, { kind: "fixture", a: 0, b: 0, c: 0 });
    const started = Date.now();
    const cpu0 = process.cpuUsage();
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: MIN_LEN, maxLength: MAX_LEN }), async (actions) => {
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
        if (stats.effective > effectiveBefore) {
          t0 = clock();
          await checkPayments(w, fromBlock);
          stats.checkMs += clock() - t0;
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: underCoverage },
    );
    const secs = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `      ${RUNS} sequences, ${stats.actions} actions (${stats.effective} changed state) in ${secs.toFixed(1)} s wall, ` +
        `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU (fixture+first check ${(stats.fixtureMs / 1e3).toFixed(1)} s, ` +
        `actions ${(stats.actMs / 1e3).toFixed(1)} s, checks ${(stats.checkMs / 1e3).toFixed(1)} s)`,
    );
    console.log(`      state changes by action: ${[...byKind].sort().map(([k, n]) => `${k} ${n}`).join(", ")}`);
    expect(stats.effective).to.be.greaterThan(stats.actions / 5);
  });
});
