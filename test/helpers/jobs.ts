/**
 * Shared fixture for the JobMarket / AuditManager tests: the real StakeManager and
 * BlockhashRandomness, staked workers and auditors, and helpers that walk a job through its life.
 */
import { ethers } from "hardhat";
import { mine, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type {
  AuditManager,
  BlockhashRandomness,
  CanaryRegistry,
  DataAvailability,
  DisputeManager,
  JobMarket,
  ReentrantToken,
  StakeManager,
  TestToken,
} from "../../typechain-types";
import { BlockhashRandomness__factory, TestToken__factory } from "../../typechain-types";
import { deployUPow } from "../../scripts/lib/deploy";
import { enterNextEpoch, stakeAccount, TEST_EPOCHS } from "./staking";
import { defaultParams } from "../../scripts/lib/params";
import { postCanaryEpoch, type Canary } from "../../scripts/lib/canary";
import type { IJobMarket } from "../../typechain-types/contracts/JobMarket";
import { buildTrajectory, proof, sha256, type Hex, type Trajectory } from "./merkle";

export const E18 = 10n ** 18n;
export const WORKER_STAKE = 10_000n * E18;
export const AUDITOR_STAKE = 1_000n * E18;
export const MIN_JUROR_STAKE = 100n * E18;
export const AUDITOR_PENALTY = 50n * E18;
export const UNBONDING_PERIOD = 86_400n;
export const N_AUDITORS = 6;

export interface JobsFixture {
  admin: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  worker: HardhatEthersSigner;
  worker2: HardhatEthersSigner;
  disputer: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  auditors: HardhatEthersSigner[];
  stakeToken: TestToken;
  payToken: TestToken;
  stakeManager: StakeManager;
  randomness: BlockhashRandomness;
  jobMarket: JobMarket;
  auditManager: AuditManager;
  canaryRegistry: CanaryRegistry;
  disputeManager: DisputeManager;
  dataAvailability: DataAvailability;
}

/** Everything deployed and wired; the worker and auditors staked; the requester funded. */
export async function deployJobsFixture(): Promise<JobsFixture> {
  return deployJobs(await ethers.deployContract("TestToken", ["Stake", "STK"]));
}

/**
 * The same stack staked in a ReentrantToken (same mint/approve surface as TestToken), to prove that
 * functions moving stake tokens are non-reentrant.
 */
export async function deployReentrantStakeFixture(): Promise<JobsFixture & { reentrantStake: ReentrantToken }> {
  const reentrantStake = await ethers.deployContract("ReentrantToken");
  const [admin] = await ethers.getSigners();
  const fx = await deployJobs(TestToken__factory.connect(await reentrantStake.getAddress(), admin));
  return { ...fx, reentrantStake };
}

async function deployJobs(stakeToken: TestToken): Promise<JobsFixture> {
  const signers = await ethers.getSigners();
  const [admin, requester, worker, worker2, disputer, stranger] = signers;
  const auditors = signers.slice(6, 6 + N_AUDITORS);

  const payToken = await ethers.deployContract("TestToken", ["Pay", "PAY"]);
  // The whole protocol as deployed (the JobMarket needs its DisputeManager for createJob); the
  // `disputer` account also holds DISPUTE_ROLE so the hooks can be driven directly.
  const p = defaultParams();
  const d = await deployUPow(admin, {
    ...p,
    stakingToken: await stakeToken.getAddress(),
    paymentTokens: [await payToken.getAddress()],
    unbondingPeriod: Number(UNBONDING_PERIOD),
    minJurorStake: MIN_JUROR_STAKE,
    auditorPenalty: AUDITOR_PENALTY,
    ...TEST_EPOCHS,
  });
  const { stakeManager, jobMarket, auditManager, canaryRegistry, disputeManager, dataAvailability } = d;
  const randomness = BlockhashRandomness__factory.connect(d.contracts.Randomness!.address, admin);
  await jobMarket.grantRole(await jobMarket.DISPUTE_ROLE(), disputer.address);

  await stakeAccount(stakeManager, stakeToken, worker, WORKER_STAKE);
  await stakeAccount(stakeManager, stakeToken, worker2, WORKER_STAKE);
  // Auditors: free stake for attestation locks, a reserve of the same size for draw weight.
  for (const a of auditors) await stakeAccount(stakeManager, stakeToken, a, AUDITOR_STAKE, AUDITOR_STAKE);
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
    worker2,
    disputer,
    stranger,
    auditors,
    stakeToken,
    payToken,
    stakeManager,
    randomness,
    jobMarket,
    auditManager,
    canaryRegistry,
    disputeManager,
    dataAvailability,
  };
}

export const T = 8;
export const K = 2;

/** Deterministic fake state hashes for steps 0..T (a distinct `tag` gives a distinct trajectory). */
export function stateHashes(steps: number, tag = "honest"): Hex[] {
  return Array.from({ length: steps + 1 }, (_, t) => sha256(Buffer.from(`${tag}:${t}`)));
}

export const TRAJECTORY: Trajectory = buildTrajectory(stateHashes(T), K);

/** Job parameters that pass every check, with `overrides`. */
export async function jobParams(
  fx: JobsFixture,
  overrides: Partial<IJobMarket.CreateJobParamsStruct> = {},
): Promise<IJobMarket.CreateJobParamsStruct> {
  const reward = 100n * E18;
  return {
    paymentToken: await fx.payToken.getAddress(),
    reward,
    verificationFee: 10n * E18,
    collateral: await fx.jobMarket.requiredCollateral(reward),
    totalSteps: T,
    checkpointInterval: K,
    numBatches: 4,
    flopsPerStep: 1_000_000_000n,
    stateBytes: 1_000_000n,
    initialStateHash: TRAJECTORY.stateHashes[0],
    dataRoot: sha256(Buffer.from("data")),
    specHash: sha256(Buffer.from("spec")),
    specURI: "ipfs://spec",
    claimDeadline: BigInt(await time.latest()) + 86_400n,
    trainingDuration: 3_600n,
    ...overrides,
  };
}

/** Creates a job and returns its id. */
export async function createJob(fx: JobsFixture, overrides: Partial<IJobMarket.CreateJobParamsStruct> = {}): Promise<bigint> {
  const id = await fx.jobMarket.nextJobId();
  await fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, overrides));
  return id;
}

export async function createAndClaim(fx: JobsFixture): Promise<bigint> {
  const id = await createJob(fx);
  await fx.jobMarket.connect(fx.worker).claimJob(id);
  return id;
}

/** Submission arguments for `traj` (defaults to the honest trajectory). */
export function submission(traj: Trajectory = TRAJECTORY) {
  const n = traj.checkpointLeaves.length;
  return {
    checkpointRoot: traj.checkpointRoot,
    finalStateHash: traj.stateHashes[traj.stateHashes.length - 1],
    resultURI: "ipfs://result",
    stepRoot0: traj.stepRoots[0],
    proof0: proof(traj.checkpointLeaves, 0),
    proofLast: proof(traj.checkpointLeaves, n - 1),
  };
}

export async function submit(fx: JobsFixture, jobId: bigint, traj: Trajectory = TRAJECTORY) {
  const s = submission(traj);
  return fx.jobMarket
    .connect(fx.worker)
    .submitResult(jobId, s.checkpointRoot, s.finalStateHash, s.resultURI, s.stepRoot0, s.proof0, s.proofLast);
}

export async function createClaimSubmit(fx: JobsFixture, traj: Trajectory = TRAJECTORY): Promise<bigint> {
  const T_ = traj.stateHashes.length - 1;
  const k = T_ / (traj.checkpointLeaves.length - 1);
  const id = await createJob(fx, { totalSteps: T_, checkpointInterval: k, initialStateHash: traj.stateHashes[0] });
  await fx.jobMarket.connect(fx.worker).claimJob(id);
  await submit(fx, id, traj);
  return id;
}

/** Moves time past the job's challenge window. */
export async function passWindow(fx: JobsFixture, jobId: bigint): Promise<void> {
  const job = await fx.jobMarket.getJob(jobId);
  await time.increaseTo(job.windowEnd + 1n);
}

/** Moves time past the job's canary reveal period (attesters of any job wait for it, v3 V11.1). */
export async function passRevealPeriod(fx: JobsFixture, jobId: bigint): Promise<void> {
  const end = (await fx.jobMarket.getJob(jobId)).windowEnd + (await fx.auditManager.canaryRevealPeriod());
  if (BigInt(await time.latest()) <= end) await time.increaseTo(end + 1n);
}

/** Submits, mines the seed block and draws auditors; returns the job id and its auditors. */
export async function submittedWithAuditors(
  fx: JobsFixture,
  traj: Trajectory = TRAJECTORY,
): Promise<{ jobId: bigint; assigned: HardhatEthersSigner[] }> {
  const jobId = await createClaimSubmit(fx, traj);
  return { jobId, assigned: await drawAuditors(fx, jobId) };
}

/**
 * Mines the seed block, draws the job's auditors and returns them as signers. Seats are drawn with
 * replacement; `want` says which draws to keep (default: one seat per auditor, what most tests of
 * audit logic assume): another draw is made by undoing it and re-mining the seed block a second
 * later (another hash), up to 100 times.
 */
export async function drawAuditors(
  fx: JobsFixture,
  jobId: bigint,
  want: (seats: bigint[]) => boolean = (seats) => seats.every((n) => n === 1n),
): Promise<HardhatEthersSigner[]> {
  const signers = await ethers.getSigners();
  const target = (await fx.auditManager.getAudit(jobId)).drawTarget;
  for (let attempt = 0; ; attempt++) {
    const open = target >= BigInt(await ethers.provider.getBlockNumber());
    const snapshot = await takeSnapshot();
    if (attempt > 0) await time.increase(attempt);
    if (open) await mine(target - BigInt(await ethers.provider.getBlockNumber()) + 1n);
    await fx.auditManager.drawAuditors(jobId);
    const drawn = await fx.auditManager.auditorsOf(jobId);
    const seats = await Promise.all(drawn.map((a) => fx.auditManager.auditorSeats(jobId, a)));
    if (!open || want(seats) || attempt >= 100) {
      return drawn.map((a) => {
        const s = signers.find((x) => x.address === a);
        if (s === undefined) throw new Error(`drawn auditor ${a} is not a local signer`);
        return s;
      });
    }
    await snapshot.restore();
  }
}

/** TS mirror of the audit sample of docs/encoding.md. */
export function sampleTs(auditSeed: string, jobId: bigint, auditor: string, s: number, intervals: number): bigint[] {
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const seed = ethers.keccak256(coder.encode(["bytes32", "uint256", "address"], [auditSeed, jobId, auditor]));
  const want = Math.min(s, intervals);
  const out: bigint[] = [];
  for (let m = 0; out.length < want; m++) {
    const c = BigInt(ethers.keccak256(coder.encode(["bytes32", "uint256"], [seed, m]))) % BigInt(intervals);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** Posts a one-canary root `(specHash, faultSteps, salt)` for the next canary epoch and moves time into
 * that epoch, so a job created next is a canary; returns the leaf's proof. */
export async function nextEpochCanary(
  registry: CanaryRegistry,
  specHash: string,
  faultSteps: readonly bigint[],
  salt: string,
  others: readonly Canary[] = [],
): Promise<{ epoch: bigint; proof: string[] }> {
  const { epoch, tree } = await postCanaryEpoch(registry, [{ specHash, faultSteps: [...faultSteps], salt }, ...others]);
  const start = (await registry.genesis()) + epoch * (await registry.epochLength());
  if (BigInt(await time.latest()) < start) await time.increaseTo(start);
  return { epoch, proof: tree.proof(0) };
}

/** TS mirror of JobMarket.requiredCollateral (same 1e18 fixed point, same rounding). */
export function requiredCollateralTs(
  reward: bigint,
  p: { minCollateralBps: bigint; hostileBps: bigint; samples: bigint; auditors: bigint; challengerBps?: bigint },
): bigint {
  // Only the collateral the worker cannot win back through its own challenger counts (v3 V4.3).
  const kept = 10_000n - (p.challengerBps ?? 5_000n);
  const ONE = E18;
  const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
  const mulUp = (a: bigint, b: bigint) => ceilDiv(a * b, ONE);
  // square-and-multiply exactly as the contract does, so the roundings match
  const powUp = (x0: bigint, e0: bigint) => {
    let [r, x, e] = [ONE, x0, e0];
    while (e > 0n) {
      if ((e & 1n) === 1n) r = mulUp(r, x);
      x = mulUp(x, x);
      e >>= 1n;
    }
    return r;
  };
  let required = ceilDiv(reward * p.minCollateralBps, 10_000n);
  const w = (p.hostileBps * ONE) / 10_000n;
  for (const pct of [1n, 2n, 5n, 10n, 20n, 50n, 100n]) {
    const f = pct * 10n ** 16n;
    const miss = powUp(w + mulUp(ONE - w, powUp(ONE - f, p.samples)), p.auditors);
    const need = (f * reward) / (ONE - miss) + 1n;
    if (need > reward) {
      const c = ceilDiv((need - reward) * 10_000n, kept);
      if (c > required) required = c;
    }
  }
  return required;
}
