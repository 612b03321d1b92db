/**
 * The whole protocol deployed and wired with real contracts (TestToken, StakeManager,
 * BlockhashRandomness, JobMarket, AuditManager, DisputeManager), plus helpers that walk a job and
 * a dispute through their lives. Reused by the dispute tests, the demo and other suites.
 */
import { ethers } from "hardhat";
import { mine, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  BlockhashRandomness__factory,
  DataAvailability__factory,
  DisputeEvidence__factory,
  DisputeJury__factory,
  DisputeLogic__factory,
  DisputeManager__factory,
  DisputeQueue__factory,
  type AuditManager,
  type BlockhashRandomness,
  type CanaryRegistry,
  type DataAvailability,
  type DisputeManager,
  type JobMarket,
  type ReentrantToken,
  type StakeManager,
  type TestToken,
} from "../../typechain-types";
import type { IDisputeManager } from "../../typechain-types/contracts/DisputeManager";
import type { DisputeManagerLibraryAddresses } from "../../typechain-types/factories/contracts/DisputeManager__factory";
import type { IDataAvailability } from "../../typechain-types/contracts/DataAvailability";
import type { IJobMarket } from "../../typechain-types/contracts/JobMarket";
import { deployUPow } from "../../scripts/lib/deploy";
import { enterNextEpoch, stakeAccount, TEST_EPOCHS } from "./staking";
import { defaultParams, type DeployParams } from "../../scripts/lib/params";
import { proof, rangeProof, stepLeaf, type Hex, type Trajectory } from "./merkle";
import { checkpointProof, dataTree, fakeFile, fileTrajectory, stepProof, type DataTree, type FileTrajectory } from "./trees";
import { checkpointProof as indexCheckpointProof, type ResultIndex } from "../../verifier/protocol/resultIndex";

// Stakes and periods shared with the JobMarket/AuditManager fixture, so both run the same economy.
import { AUDITOR_PENALTY, E18, MIN_JUROR_STAKE, UNBONDING_PERIOD, WORKER_STAKE } from "./jobs";
export { AUDITOR_PENALTY, E18, MIN_JUROR_STAKE, UNBONDING_PERIOD, WORKER_STAKE };
export const JUROR_STAKE = 1_000n * E18;
export const N_JURORS = 12;
export const T = 8;
export const K = 2;
/** Two chunks per state file: one full 8 KiB chunk and a short last one. */
export const STATE_BYTES = 10_000;

/** The deploy library's default dispute parameters: tests run the protocol as it is deployed. */
export const DEFAULT_DISPUTE_PARAMS: IDisputeManager.ParamsStruct = defaultParams().dispute;
/** The deploy library's default availability parameters. */
export const DEFAULT_DA_PARAMS: IDataAvailability.ParamsStruct = defaultParams().availability;

/** Linked library addresses of the DisputeManager (fully qualified names). */
export type DisputeLibraries = DisputeManagerLibraryAddresses;

export interface System {
  admin: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  worker: HardhatEthersSigner;
  challenger: HardhatEthersSigner;
  challenger2: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  jurors: HardhatEthersSigner[];
  stakeToken: TestToken;
  payToken: TestToken;
  stakeManager: StakeManager;
  randomness: BlockhashRandomness;
  jobMarket: JobMarket;
  auditManager: AuditManager;
  canaryRegistry: CanaryRegistry;
  disputeManager: DisputeManager;
  dataAvailability: DataAvailability;
  /** The honest trajectory (real state files) and data tree every job of the fixture uses. */
  traj: FileTrajectory;
  data: DataTree;
}

export const TRAJ: FileTrajectory = fileTrajectory(
  Array.from({ length: T + 1 }, (_, t) => fakeFile(`state:${t}`, STATE_BYTES)),
  K,
);
export const DATA: DataTree = dataTree(Array.from({ length: 4 }, (_, b) => fakeFile(`batch:${b}`, 1_000)));

/** Deploys the DisputeManager's linked libraries (DisputeEvidence linked to DisputeLogic). */
export async function deployDisputeLibraries(): Promise<DisputeLibraries> {
  const [signer] = await ethers.getSigners();
  const logic = await new DisputeLogic__factory(signer).deploy();
  const jury = await new DisputeJury__factory(signer).deploy();
  const queue = await new DisputeQueue__factory(signer).deploy();
  const evidence = await new DisputeEvidence__factory(
    { "contracts/lib/DisputeLogic.sol:DisputeLogic": await logic.getAddress() },
    signer,
  ).deploy();
  return {
    "contracts/lib/DisputeLogic.sol:DisputeLogic": await logic.getAddress(),
    "contracts/lib/DisputeJury.sol:DisputeJury": await jury.getAddress(),
    "contracts/lib/DisputeQueue.sol:DisputeQueue": await queue.getAddress(),
    "contracts/lib/DisputeEvidence.sol:DisputeEvidence": await evidence.getAddress(),
  };
}

/** Deploys a bare DisputeManager (libraries included, nothing wired): for constructor tests. */
export async function deployDisputeManager(
  stakeManager: string,
  jobMarket: string,
  randomness: string,
  dataAvailability: string,
  admin: string,
  params: IDisputeManager.ParamsStruct = DEFAULT_DISPUTE_PARAMS,
): Promise<{ disputeManager: DisputeManager; libraries: DisputeLibraries }> {
  const [signer] = await ethers.getSigners();
  const libraries = await deployDisputeLibraries();
  const disputeManager = await new DisputeManager__factory(libraries, signer).deploy(
    stakeManager,
    jobMarket,
    randomness,
    dataAvailability,
    admin,
    params,
  );
  await disputeManager.waitForDeployment();
  return { disputeManager, libraries };
}

/** Deploys a bare DataAvailability: for constructor tests. */
export async function deployDataAvailability(
  admin: string,
  jobMarket: string,
  stakingToken: string,
  params: IDataAvailability.ParamsStruct = DEFAULT_DA_PARAMS,
): Promise<DataAvailability> {
  const [signer] = await ethers.getSigners();
  return new DataAvailability__factory(signer).deploy(admin, jobMarket, stakingToken, params);
}

/** Overrides of the deploy parameters a fixture may set. */
export interface SystemOptions {
  dispute?: Partial<DeployParams["dispute"]>;
  availability?: Partial<DeployParams["availability"]>;
  /** Randomness source to deploy (e.g. prevrandao, which needs both delays ≥ 64). @default blockhash */
  randomnessSource?: DeployParams["randomnessSource"];
  auditDrawDelay?: number;
}

/** Everything deployed and wired; worker and jurors staked; requester and challengers funded and approved. */
export async function deploySystem(opts: SystemOptions = {}): Promise<System> {
  return deploySystemWith((await ethers.deployContract("TestToken", ["Stake", "STK"])) as unknown as TestToken, opts);
}

/**
 * The same system with a ReentrantToken as staking token (mint-compatible with TestToken), for
 * tests that re-enter the contracts from inside a token transfer.
 */
export async function deployReentrantSystem(): Promise<System & { reentrant: ReentrantToken }> {
  const reentrant = await ethers.deployContract("ReentrantToken");
  const sys = await deploySystemWith(reentrant as unknown as TestToken);
  return { ...sys, reentrant };
}

/** Deploy parameters of the fixtures: the library defaults with the test economy's stake settings. */
export function fixtureParams(stakingToken: string, payToken: string, opts: SystemOptions = {}): DeployParams {
  const p = defaultParams();
  return {
    ...p,
    stakingToken,
    paymentTokens: [payToken],
    unbondingPeriod: Number(UNBONDING_PERIOD),
    minJurorStake: MIN_JUROR_STAKE,
    auditorPenalty: AUDITOR_PENALTY,
    ...TEST_EPOCHS,
    randomnessSource: opts.randomnessSource ?? p.randomnessSource,
    auditDrawDelay: opts.auditDrawDelay ?? p.auditDrawDelay,
    dispute: { ...p.dispute, ...opts.dispute },
    availability: { ...p.availability, ...opts.availability },
  };
}

async function deploySystemWith(stakeToken: TestToken, opts: SystemOptions = {}): Promise<System> {
  const signers = await ethers.getSigners();
  const [admin, requester, worker, challenger, challenger2, stranger] = signers;
  const jurors = signers.slice(6, 6 + N_JURORS);

  const payToken = await ethers.deployContract("TestToken", ["Pay", "PAY"]);
  const d = await deployUPow(admin, fixtureParams(await stakeToken.getAddress(), await payToken.getAddress(), opts));
  const { stakeManager, jobMarket, auditManager, canaryRegistry, disputeManager, dataAvailability } = d;
  const randomness = BlockhashRandomness__factory.connect(d.contracts.Randomness!.address, admin);

  // Jurors hold free stake (attestations) and a juror reserve of the same size (draw weight).
  await stakeAccount(stakeManager, stakeToken, worker, WORKER_STAKE);
  for (const j of jurors) await stakeAccount(stakeManager, stakeToken, j, JUROR_STAKE, JUROR_STAKE);
  // Bond money for everyone who may challenge, appeal or demand data.
  for (const who of [challenger, challenger2, stranger, worker, ...jurors]) {
    await stakeToken.mint(who.address, 10_000n * E18);
    await stakeToken.connect(who).approve(await disputeManager.getAddress(), ethers.MaxUint256);
    await stakeToken.connect(who).approve(await dataAvailability.getAddress(), ethers.MaxUint256);
  }
  await payToken.mint(requester.address, 1_000_000n * E18);
  await payToken.connect(requester).approve(await jobMarket.getAddress(), ethers.MaxUint256);
  await enterNextEpoch(stakeManager);
  // A minute into the epoch: the canary registry's day-long epochs (deployed seconds after the
  // StakeManager) end just after a staking epoch begins; tests post canary roots for "the next" one.
  await time.increase(60);

  return {
    admin,
    requester,
    worker,
    challenger,
    challenger2,
    stranger,
    jurors,
    stakeToken,
    payToken,
    stakeManager,
    randomness,
    jobMarket,
    auditManager,
    canaryRegistry,
    disputeManager,
    dataAvailability,
    traj: TRAJ,
    data: DATA,
  };
}

/** Job parameters for the fixture trajectory, with `overrides`. */
export async function jobParams(
  sys: System,
  overrides: Partial<IJobMarket.CreateJobParamsStruct> = {},
): Promise<IJobMarket.CreateJobParamsStruct> {
  const reward = 100n * E18;
  return {
    paymentToken: await sys.payToken.getAddress(),
    reward,
    verificationFee: 10n * E18,
    collateral: await sys.jobMarket.requiredCollateral(reward),
    totalSteps: T,
    checkpointInterval: K,
    numBatches: sys.data.batches.length,
    flopsPerStep: 1_000_000_000n,
    stateBytes: BigInt(STATE_BYTES),
    initialStateHash: sys.traj.stateHashes[0],
    dataRoot: sys.data.root,
    specHash: ethers.id("spec"),
    specURI: "ipfs://spec",
    claimDeadline: BigInt(await time.latest()) + 86_400n,
    trainingDuration: 3_600n,
    ...overrides,
  };
}

/** Creates, claims and submits a job with the fixture trajectory; returns its id. */
export async function submittedJob(sys: System, overrides: Partial<IJobMarket.CreateJobParamsStruct> = {}): Promise<bigint> {
  return submitTrajectory(sys, sys.traj, overrides);
}

export function challengeCommitment(jobId: bigint, interval: number, challenger: string, salt: Hex): Hex {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint64", "address", "bytes32"], [jobId, interval, challenger, salt]),
  ) as Hex;
}

export function voteCommitment(disputeId: bigint, round: number, juror: string, vote: number, salt: Hex): Hex {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint256", "address", "uint8", "bytes32"], [disputeId, round, juror, vote, salt]),
  ) as Hex;
}

export const SALT: Hex = ethers.id("salt") as Hex;

/** Commits to disputing `interval` (pulls commitBond); returns the commitment. */
export async function commit(sys: System, jobId: bigint, interval: number, challenger = sys.challenger, salt: Hex = SALT): Promise<Hex> {
  const c = challengeCommitment(jobId, interval, challenger.address, salt);
  await sys.disputeManager.connect(challenger).commitChallenge(c);
  return c;
}

export const EMPTY_CHECKPOINT = { stateHash: ethers.ZeroHash, stepRoot: ethers.ZeroHash, proof: [] as Hex[] };

export interface OpenOptions {
  challenger?: HardhatEthersSigner;
  salt?: Hex;
  /** Open with empty checkpoint proofs (the worker must post the leaves). @default false */
  withoutProofs?: boolean;
  hint?: bigint;
}

/** Opens a dispute whose commitment is already mined (at least one block old); returns its id. */
export async function openCommitted(sys: System, jobId: bigint, interval: number, opts: OpenOptions = {}): Promise<bigint> {
  const challenger = opts.challenger ?? sys.challenger;
  const id = (await sys.disputeManager.disputeCount()) + 1n;
  const a = opts.withoutProofs === true ? EMPTY_CHECKPOINT : checkpointProof(sys.traj, interval);
  const b = opts.withoutProofs === true ? EMPTY_CHECKPOINT : checkpointProof(sys.traj, interval + 1);
  await sys.disputeManager.connect(challenger).openDispute(jobId, interval, opts.salt ?? SALT, a, b, opts.hint ?? 0n);
  return id;
}

/** Commits and (next block) opens a dispute on `interval`; returns the dispute id. */
export async function openDispute(
  sys: System,
  jobId: bigint,
  interval: number,
  challenger = sys.challenger,
  salt: Hex = SALT,
  opts: OpenOptions = {},
): Promise<bigint> {
  await commit(sys, jobId, interval, challenger, salt);
  return openCommitted(sys, jobId, interval, { ...opts, challenger, salt });
}

/**
 * Commits and (next block) opens a dispute on `interval` of a daemon's real result, with the
 * checkpoint proofs its published result index gives; returns the dispute id.
 */
export async function openDisputeOnIndex(
  sys: System,
  index: ResultIndex,
  jobId: bigint,
  interval: number,
  salt: Hex = SALT,
  challenger = sys.challenger,
): Promise<bigint> {
  const dm = sys.disputeManager.connect(challenger);
  await dm.commitChallenge(challengeCommitment(jobId, interval, challenger.address, salt));
  await mine(1);
  const a = indexCheckpointProof(index, interval);
  const b = indexCheckpointProof(index, interval + 1);
  await dm.openDispute(
    jobId,
    interval,
    salt,
    { stateHash: a.stateHash, stepRoot: a.stepRoot, proof: a.proof },
    { stateHash: b.stateHash, stepRoot: b.stepRoot, proof: b.proof },
    0n,
  );
  return sys.disputeManager.disputeOf(jobId, interval, challenger.address);
}

/** A step claim (state hash and proof) of the fixture trajectory; `stored` gives an empty proof. */
export function stepClaim(sys: System, interval: number, j: number, stored = false): { stateHash: Hex; proof: Hex[] } {
  const s = stepProof(sys.traj, interval, j);
  return stored ? { stateHash: s.stateHash, proof: [] } : s;
}

/** The challenger names local step `j` of the dispute's interval. */
export async function pinpoint(sys: System, disputeId: bigint, j: number, challenger = sys.challenger): Promise<void> {
  const d = await sys.disputeManager.getDispute(disputeId);
  const i = Number(d.interval);
  await sys.disputeManager.connect(challenger).pinpoint(disputeId, j, stepClaim(sys, i, j), stepClaim(sys, i, j + 1));
}

/** Step leaves `first .. first+count-1` of interval `i` of `traj` with their range proof. */
export function stepRange(traj: FileTrajectory, i: number, first: number, count: number): { stateHashes: Hex[]; proof: Hex[] } {
  const k = traj.k;
  const leaves: Hex[] = [];
  for (let t = 0; t <= k; t++) leaves.push(stepLeaf(i * k + t, traj.stateHashes[i * k + t]));
  return { stateHashes: traj.stateHashes.slice(i * k + first, i * k + first + count), proof: rangeProof(leaves, first, count) };
}

/** Mines past the randomness block and draws the committee; returns the drawn jurors as signers. */
export async function drawCommittee(
  sys: System,
  disputeId: bigint,
  opts: { distinct?: boolean; accept?: (seats: HardhatEthersSigner[]) => boolean } = {},
): Promise<HardhatEthersSigner[]> {
  return drawWith(
    sys.disputeManager,
    disputeId,
    async () => seatsOf(sys, disputeId, (await sys.disputeManager.getDispute(disputeId)).round),
    opts.distinct ?? true,
    opts.accept,
  );
}

/**
 * Mines to the dispute's seed block and draws. Draws pick seats with replacement, so one account
 * may hold several seats; tests about dispute logic (not draw statistics) want one seat per juror,
 * so by default a draw with a repeated account is undone and the seed block re-mined one second
 * later (another block hash: another seed), up to 100 times; `accept` may ask for more (e.g. a given
 * juror seated). Returns the seats (see `seatsOf`).
 */
export async function drawWith<S extends { address: string }>(
  dm: System["disputeManager"],
  disputeId: bigint,
  seats: () => Promise<S[]>,
  distinct: boolean,
  accept: (seats: S[]) => boolean = () => true,
): Promise<S[]> {
  const d = await dm.getDispute(disputeId);
  for (let attempt = 0; ; attempt++) {
    const now = BigInt(await ethers.provider.getBlockNumber());
    const open = d.randomnessBlock >= now; // the seed block is not mined yet: it can still be re-rolled
    const snapshot = await takeSnapshot();
    if (attempt > 0) await time.increase(attempt);
    if (open) await mine(d.randomnessBlock - now + 1n);
    await dm.drawCommittee(disputeId);
    const out = await seats();
    const unique = new Set(out.map((s) => s.address)).size === out.length;
    if (((!distinct || unique) && accept(out)) || !open || attempt >= 100) return out;
    await snapshot.restore();
  }
}

/** Each account of a per-seat committee list once, with the seats it holds. */
export function distinctSeats(seats: HardhatEthersSigner[]): [HardhatEthersSigner, bigint][] {
  const out = new Map<string, [HardhatEthersSigner, bigint]>();
  for (const s of seats) out.set(s.address, [s, (out.get(s.address)?.[1] ?? 0n) + 1n]);
  return [...out.values()];
}

/** The round's committee, one entry per seat: an account holding n seats appears n times in a row. */
export async function seatsOf(sys: System, disputeId: bigint, round: bigint | number): Promise<HardhatEthersSigner[]> {
  const r = await sys.disputeManager.getRound(disputeId, round);
  const out: HardhatEthersSigner[] = [];
  for (const a of r.jurors) {
    const { seats } = await sys.disputeManager.getVote(disputeId, round, a);
    for (let i = 0n; i < seats; i++) out.push(signerOf(sys, a));
  }
  return out;
}

export function signerOf(sys: System, address: string): HardhatEthersSigner {
  const all = [sys.admin, sys.requester, sys.worker, sys.challenger, sys.challenger2, sys.stranger, ...sys.jurors];
  const s = all.find((x) => x.address === address);
  if (s === undefined) throw new Error(`no fixture signer for ${address}`);
  return s;
}

/**
 * Commits the given votes (0 = juror stays silent), moves to the reveal phase, and reveals them.
 * `votes[i]` belongs to `jurors[i]` (one entry per seat, as `drawCommittee` returns them); a juror
 * holding several seats votes once for all of them, as its first seat says.
 */
export async function vote(sys: System, disputeId: bigint, jurors: HardhatEthersSigner[], votes: number[]): Promise<void> {
  const d = await sys.disputeManager.getDispute(disputeId);
  const round = Number(d.round);
  const first = (i: number): boolean => jurors.findIndex((j) => j.address === jurors[i].address) === i;
  for (let i = 0; i < jurors.length; i++) {
    if (votes[i] === 0 || !first(i)) continue;
    const salt = ethers.id(`vote:${i}`) as Hex;
    await sys.disputeManager.connect(jurors[i]).commitVote(disputeId, voteCommitment(disputeId, round, jurors[i].address, votes[i], salt));
  }
  await time.increaseTo(d.commitEnd + 1n);
  for (let i = 0; i < jurors.length; i++) {
    if (votes[i] === 0 || !first(i)) continue;
    await sys.disputeManager.connect(jurors[i]).revealVote(disputeId, votes[i], ethers.id(`vote:${i}`));
  }
}

/** Everything up to a committee of the dispute on `interval` (opened, pinpointed at `j`, drawn). */
export async function disputeWithCommittee(sys: System, jobId: bigint, interval = 1, j = 0) {
  const disputeId = await openDispute(sys, jobId, interval);
  await pinpoint(sys, disputeId, j);
  const jurors = await drawCommittee(sys, disputeId);
  return { disputeId, jurors };
}

/** A committee's round on a new dispute of `interval`: the jurors vote `votes`, the round is resolved. */
export async function ruled(sys: System, jobId: bigint, votes: number[], interval = 1) {
  const { disputeId, jurors } = await disputeWithCommittee(sys, jobId, interval);
  await vote(sys, disputeId, jurors, votes);
  await sys.disputeManager.resolve(disputeId);
  return { disputeId, jurors };
}

/**
 * Creates, claims and submits a job whose committed trajectory is `traj` (e.g. one lying at a
 * boundary, or a longer one with `overrides` giving its T and k); the final state is its last.
 */
export async function submitTrajectory(
  sys: System,
  traj: Trajectory,
  overrides: Partial<IJobMarket.CreateJobParamsStruct> = {},
): Promise<bigint> {
  const jobId = await sys.jobMarket.nextJobId();
  await sys.jobMarket.connect(sys.requester).createJob(await jobParams(sys, overrides));
  await sys.jobMarket.connect(sys.worker).claimJob(jobId);
  const n = traj.checkpointLeaves.length;
  await sys.jobMarket
    .connect(sys.worker)
    .submitResult(
      jobId,
      traj.checkpointRoot,
      traj.stateHashes[traj.stateHashes.length - 1]!,
      "ipfs://result",
      traj.stepRoots[0],
      proof(traj.checkpointLeaves, 0),
      proof(traj.checkpointLeaves, n - 1),
    );
  return jobId;
}

/** Every fixture juror leaves the jury and the next epoch begins: nobody can be drawn any more
 * (weights change only at epoch boundaries, v3 V3.1). */
export async function emptyJuryPool(sys: System): Promise<void> {
  for (const j of sys.jurors) {
    const a = await sys.stakeManager.account(j.address);
    if (a.reserve + a.pendingJoin > 0n) await sys.stakeManager.connect(j).leaveJury(a.reserve + a.pendingJoin - a.pendingLeave);
  }
  await enterNextEpoch(sys.stakeManager);
}
