/**
 * Fixture of the adversarial tests (issue 12): the whole protocol deployed by the deploy library
 * (`deployUPow`, test tokens), a worker, its second account (the sybil), an honest challenger, a
 * requester and staked jurors, plus helpers that walk a job and a dispute step by step on the real
 * in-process chain. Every job uses one trajectory of real state files so chunk challenges can be
 * answered with the very bytes the commitments cover.
 */
import { ethers } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  TestToken__factory,
  type AuditManager,
  type CanaryRegistry,
  type DataAvailability,
  type DisputeManager,
  type JobMarket,
  type StakeManager,
  type TestToken,
} from "../../../typechain-types";
import type { IJobMarket } from "../../../typechain-types/contracts/JobMarket";
import { enterNextEpoch, stakeAccount, TEST_EPOCHS } from "../../helpers/staking";
import { drawWith } from "../../helpers/system";
import { deployUPow } from "../../../scripts/lib/deploy";
import { defaultParams, type DeployParams } from "../../../scripts/lib/params";
import { levels as levelsOf, proof, sha256, stepLeaf as stepLeafHash, type Hex } from "../../helpers/merkle";
import { checkpointProof, fakeFile, fileTrajectory, stepProof, type FileTrajectory } from "../../helpers/trees";

export const E18 = 10n ** 18n;
export const WORKER_STAKE = 10_000n * E18;
export const JUROR_STAKE = 1_000n * E18;
export const CHALLENGER_FUNDS = 100_000n * E18;
export const T = 8;
export const K = 2;
/** Intervals of every job: T / K. */
export const INTERVALS = T / K;
export const STATE_BYTES = 10_000;

/** Vote values (IDisputeManager.Ruling 1..3) and the other rulings. */
export { ChallengeStatus, JobStatus, Phase, Ruling } from "../../../verifier/protocol/enums";

export const TRAJ: FileTrajectory = fileTrajectory(
  Array.from({ length: T + 1 }, (_, t) => fakeFile(`adversarial-state:${t}`, STATE_BYTES)),
  K,
);

export interface Adversarial {
  admin: HardhatEthersSigner;
  requester: HardhatEthersSigner;
  worker: HardhatEthersSigner;
  /** The worker's second account: it never stakes, so it is never drawn as a juror. */
  sybil: HardhatEthersSigner;
  challenger: HardhatEthersSigner;
  challenger2: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  jurors: HardhatEthersSigner[];
  params: DeployParams;
  stakeToken: TestToken;
  payToken: TestToken;
  stakeManager: StakeManager;
  jobMarket: JobMarket;
  auditManager: AuditManager;
  canaryRegistry: CanaryRegistry;
  disputeManager: DisputeManager;
  dataAvailability: DataAvailability;
}

/** Deploys with `tweak` applied to the default parameters; stakes `nJurors` jurors. */
export async function deployAdversarial(tweak: (p: DeployParams) => void = () => undefined, nJurors = 12): Promise<Adversarial> {
  const signers = await ethers.getSigners();
  const [admin, requester, worker, sybil, challenger, challenger2, stranger] = signers;
  const jurors = signers.slice(7, 7 + nJurors);
  const params: DeployParams = { ...defaultParams(), testTokens: true, ...TEST_EPOCHS };
  tweak(params);
  const d = await deployUPow(admin, params);
  const stakeToken = TestToken__factory.connect(d.contracts.StakingToken!.address, admin);
  const payToken = TestToken__factory.connect(d.contracts.PaymentToken!.address, admin);
  const sm = await d.stakeManager.getAddress();
  const dm = await d.disputeManager.getAddress();
  const da = await d.dataAvailability.getAddress();
  await stakeAccount(d.stakeManager, stakeToken, worker, WORKER_STAKE);
  for (const j of jurors) await stakeAccount(d.stakeManager, stakeToken, j, JUROR_STAKE, JUROR_STAKE);
  // Everyone who may bond (challengers, the sybil, the worker for appeals, jurors for juror challenges).
  for (const who of [worker, sybil, challenger, challenger2, stranger, ...jurors]) {
    await stakeToken.mint(who.address, CHALLENGER_FUNDS);
    await stakeToken.connect(who).approve(dm, ethers.MaxUint256);
    await stakeToken.connect(who).approve(da, ethers.MaxUint256);
  }
  await payToken.mint(requester.address, 1_000_000n * E18);
  await payToken.connect(requester).approve(await d.jobMarket.getAddress(), ethers.MaxUint256);
  await enterNextEpoch(d.stakeManager);
  // A minute into the epoch: the canary registry's day-long epochs (deployed seconds after the
  // StakeManager) end just after a staking epoch begins; tests post canary roots for "the next" one.
  await time.increase(60);
  return {
    admin,
    requester,
    worker,
    sybil,
    challenger,
    challenger2,
    stranger,
    jurors,
    params,
    stakeToken,
    payToken,
    stakeManager: d.stakeManager,
    jobMarket: d.jobMarket,
    auditManager: d.auditManager,
    canaryRegistry: d.canaryRegistry,
    disputeManager: d.disputeManager,
    dataAvailability: d.dataAvailability,
  };
}

export const REWARD = 100n * E18;

/** Job parameters that pass every check (collateral = the minimum the market requires). */
export async function jobParams(
  fx: Adversarial,
  overrides: Partial<IJobMarket.CreateJobParamsStruct> = {},
): Promise<IJobMarket.CreateJobParamsStruct> {
  return {
    paymentToken: await fx.payToken.getAddress(),
    reward: REWARD,
    verificationFee: 10n * E18,
    collateral: await fx.jobMarket.requiredCollateral(REWARD),
    totalSteps: T,
    checkpointInterval: K,
    numBatches: 4,
    flopsPerStep: 1_000_000_000n,
    stateBytes: BigInt(STATE_BYTES),
    initialStateHash: TRAJ.stateHashes[0],
    dataRoot: sha256(Buffer.from("adversarial-data")),
    specHash: sha256(Buffer.from("adversarial-spec")),
    specURI: "ipfs://spec",
    claimDeadline: BigInt(await time.latest()) + 86_400n,
    trainingDuration: 3_600n,
    ...overrides,
  };
}

export async function createJob(fx: Adversarial, overrides: Partial<IJobMarket.CreateJobParamsStruct> = {}): Promise<bigint> {
  const id = await fx.jobMarket.nextJobId();
  await fx.jobMarket.connect(fx.requester).createJob(await jobParams(fx, overrides));
  return id;
}

export async function claimAndSubmit(fx: Adversarial, jobId: bigint, traj: FileTrajectory = TRAJ): Promise<void> {
  await fx.jobMarket.connect(fx.worker).claimJob(jobId);
  const n = traj.checkpointLeaves.length;
  await fx.jobMarket
    .connect(fx.worker)
    .submitResult(
      jobId,
      traj.checkpointRoot,
      traj.stateHashes[traj.stateHashes.length - 1],
      "ipfs://result",
      traj.stepRoots[0],
      proof(traj.checkpointLeaves, 0),
      proof(traj.checkpointLeaves, n - 1),
    );
}

/** A submitted job with its id. */
export async function submittedJob(fx: Adversarial): Promise<bigint> {
  const id = await createJob(fx);
  await claimAndSubmit(fx, id);
  return id;
}

export function commitmentOf(jobId: bigint, interval: number, challenger: string, salt: Hex): string {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint64", "address", "bytes32"], [jobId, interval, challenger, salt]),
  );
}

export function saltOf(tag: string): Hex {
  return sha256(Buffer.from(`salt:${tag}`));
}

export async function commit(fx: Adversarial, who: HardhatEthersSigner, jobId: bigint, interval: number, tag = "s"): Promise<Hex> {
  const salt = saltOf(`${tag}:${who.address}:${interval}`);
  await fx.disputeManager.connect(who).commitChallenge(commitmentOf(jobId, interval, who.address, salt));
  return salt;
}

const EMPTY = { stateHash: ethers.ZeroHash, stepRoot: ethers.ZeroHash, proof: [] as string[] };

/** Opens a dispute (with checkpoint proofs unless `withProofs` is false) and returns its id. */
export async function openDispute(
  fx: Adversarial,
  who: HardhatEthersSigner,
  jobId: bigint,
  interval: number,
  salt: Hex,
  withProofs = true,
  hint = 0n,
  traj: FileTrajectory = TRAJ,
): Promise<bigint> {
  const cp = withProofs ? checkpointProof(traj, interval) : EMPTY;
  const cn = withProofs ? checkpointProof(traj, interval + 1) : EMPTY;
  await fx.disputeManager.connect(who).openDispute(jobId, interval, salt, cp, cn, hint);
  return fx.disputeManager.disputeCount();
}

/** Commits, mines a block and opens: the usual way in. */
export async function commitAndOpen(
  fx: Adversarial,
  who: HardhatEthersSigner,
  jobId: bigint,
  interval: number,
  withProofs = true,
): Promise<bigint> {
  const salt = await commit(fx, who, jobId, interval);
  return openDispute(fx, who, jobId, interval, salt, withProofs);
}

/** Pinpoints local step `localStep` with proofs against the interval's step root. */
export async function pinpoint(fx: Adversarial, disputeId: bigint, localStep: number, who?: HardhatEthersSigner): Promise<void> {
  const d = await fx.disputeManager.getDispute(disputeId);
  const signer = who ?? (await signerOf(d.challenger));
  const i = Number(d.interval);
  await fx.disputeManager.connect(signer).pinpoint(disputeId, localStep, stepProof(TRAJ, i, localStep), stepProof(TRAJ, i, localStep + 1));
}

export async function signerOf(address: string): Promise<HardhatEthersSigner> {
  const s = (await ethers.getSigners()).find((x) => x.address.toLowerCase() === address.toLowerCase());
  if (s === undefined) throw new Error(`${address} is not a local signer`);
  return s;
}

/** Mines past the randomness block and draws; returns the round's seats as signers (an account
 * holding n seats appears n times in a row). */
export async function draw(
  fx: Adversarial,
  disputeId: bigint,
  distinct = true,
  accept?: (seats: HardhatEthersSigner[]) => boolean,
): Promise<HardhatEthersSigner[]> {
  // Same retry as the system fixture's drawCommittee: one seat per juror unless `distinct` is false.
  return drawWith(
    fx.disputeManager,
    disputeId,
    async () => {
      const d = await fx.disputeManager.getDispute(disputeId);
      const r = await fx.disputeManager.getRound(disputeId, d.round);
      const out: HardhatEthersSigner[] = [];
      for (const a of r.jurors) {
        const { seats } = await fx.disputeManager.getVote(disputeId, d.round, a);
        for (let i = 0n; i < seats; i++) out.push(await signerOf(a));
      }
      return out;
    },
    distinct,
    accept,
  );
}

export function voteCommitment(disputeId: bigint, round: bigint | number, juror: string, vote: number, salt: Hex): string {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint8", "address", "uint8", "bytes32"], [disputeId, round, juror, vote, salt]),
  );
}

/**
 * The current round's jurors vote `votes[i]` (0: silent, neither commits nor reveals); then the
 * round is resolved (after the reveal window if someone stayed silent).
 */
export async function vote(fx: Adversarial, disputeId: bigint, jurors: HardhatEthersSigner[], votes: number[]): Promise<void> {
  const round = (await fx.disputeManager.getDispute(disputeId)).round;
  // A juror holding several seats votes once for all of them, as its first seat says.
  const first = (i: number): boolean => jurors.findIndex((j) => j.address === jurors[i].address) === i;
  for (let i = 0; i < jurors.length; i++) {
    if (!votes[i] || !first(i)) continue;
    const salt = saltOf(`vote:${disputeId}:${round}:${i}`);
    await fx.disputeManager.connect(jurors[i]).commitVote(disputeId, voteCommitment(disputeId, round, jurors[i].address, votes[i], salt));
  }
  const [commitEnd] = await fx.disputeManager.votingWindows(disputeId);
  const silent = jurors.some((_, i) => first(i) && !votes[i]);
  if (silent) await time.increaseTo(commitEnd + 1n);
  for (let i = 0; i < jurors.length; i++) {
    if (!votes[i] || !first(i)) continue;
    const salt = saltOf(`vote:${disputeId}:${round}:${i}`);
    await fx.disputeManager.connect(jurors[i]).revealVote(disputeId, votes[i], salt);
  }
  if (silent) {
    const [, revealEnd] = await fx.disputeManager.votingWindows(disputeId);
    await time.increaseTo(revealEnd + 1n);
  }
  await fx.disputeManager.resolve(disputeId);
}

/** Waits out the appeal window and executes the ruling. */
export async function finalizeRuling(fx: Adversarial, disputeId: bigint): Promise<ContractTransactionResponse> {
  const d = await fx.disputeManager.getDispute(disputeId);
  if (BigInt(await time.latest()) <= d.appealEnd) await time.increaseTo(d.appealEnd + 1n);
  return fx.disputeManager.finalizeRuling(disputeId);
}

/** Full round: draw, everybody votes `v` (or per-juror array), resolve. */
export async function ruleRound(fx: Adversarial, disputeId: bigint, v: number | number[]): Promise<HardhatEthersSigner[]> {
  const jurors = await draw(fx, disputeId);
  await vote(fx, disputeId, jurors, typeof v === "number" ? jurors.map(() => v) : v);
  return jurors;
}

export async function passWindow(fx: Adversarial, jobId: bigint): Promise<void> {
  const job = await fx.jobMarket.getJob(jobId);
  if (BigInt(await time.latest()) <= job.windowEnd) await time.increaseTo(job.windowEnd + 1n);
}

/** The id of the last availability challenge opened. */
export async function lastChallenge(fx: Adversarial): Promise<bigint> {
  return fx.dataAvailability.challengeCount();
}

/** Step leaves `first .. first+count-1` of `interval` with their range proof (UPowHashing.rangeRoot order). */
export function stepRange(
  interval: number,
  first: number,
  count: number,
  traj: FileTrajectory = TRAJ,
): { stateHashes: Hex[]; rangeProof: Hex[] } {
  const k = traj.k;
  const leaves: Hex[] = [];
  for (let j = 0; j <= k; j++) leaves.push(stepLeafHash(interval * k + j, traj.stateHashes[interval * k + j]));
  // levels of the padded tree
  const lv = levelsOf(leaves);
  const out: Hex[] = [];
  let lo = first;
  let hi = first + count - 1;
  for (let l = 0; l < lv.length - 1; l++) {
    if (lo % 2 === 1) out.push(lv[l][lo - 1]);
    if (hi % 2 === 0) out.push(lv[l][hi + 1]);
    lo >>= 1;
    hi >>= 1;
  }
  return { stateHashes: traj.stateHashes.slice(interval * k + first, interval * k + first + count), rangeProof: out };
}

/** Chunk `chunkIndex` of the state after global step `globalStep`, as `answerChunk` takes it. */
export function stateChunk(
  globalStep: number,
  chunkIndex: number,
  traj: FileTrajectory = TRAJ,
): { byteLength: number; chunk: Buffer; proof: Hex[] } {
  const f = traj.states[globalStep];
  return { byteLength: f.bytes.length, chunk: f.chunks[chunkIndex], proof: proof(f.leaves, chunkIndex) };
}

/** Token balance of the staking token plus credits on both dispute contracts. */
export async function stakeCredits(fx: Adversarial, who: string): Promise<bigint> {
  return (await fx.disputeManager.credits(who)) + (await fx.dataAvailability.credits(who));
}
