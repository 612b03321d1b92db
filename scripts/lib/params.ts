/**
 * Deployment parameters: the typed form `deployUPow` takes, the defaults, and the parser of the
 * per-network JSON config (`deployments/config/<network>.json`, see deployments/README.md).
 * Token amounts in the config are decimal strings in whole tokens ("100", "0.5"), scaled by
 * `tokenDecimals` (default 18), so a config file reads like the protocol tables.
 */
import { getAddress, parseUnits } from "ethers";
import { DeployConfigError } from "./errors";

export interface DisputeParams {
  disputeBond: bigint;
  commitBond: bigint;
  appealBond: bigint;
  jurorLock: bigint;
  incoherencePenalty: bigint;
  replayCost: bigint;
  challengerBps: number;
  jurorBps: number;
  requesterBps: number;
  bondJurorBps: number;
  committeeSize: number;
  quorum: number;
  maxRounds: number;
  maxAppeals: number;
  randomnessDelay: number;
  revealWindow: number;
  appealWindow: number;
  commitTTL: number;
  maxExtension: number;
  maxDrawWait: number;
}

/** DataAvailability parameters (v3 V1.6, V1.7, V4.1). */
export interface AvailabilityParams {
  leafBond: bigint;
  chunkBond: bigint;
  answerFee: bigint;
  openerFee: bigint;
  perAnswerTime: number;
  maxOpenPerCase: number;
  maxPerCase: number;
}

export interface JobMarketParams {
  challengeWindow: number;
  auditorsPerJob: number;
  samplesPerAuditor: number;
  hostileAuditorBps: number;
  minCollateralBps: number;
  livenessPenaltyBps: number;
  timeoutBase: number;
  refFlopsPerSecond: bigint;
  refBytesPerSecond: bigint;
}

export interface DeployParams {
  /** Existing staking token; absent ⇒ a TestToken is deployed (only allowed with `testTokens`). */
  stakingToken?: string;
  /** Payment tokens to allow-list; with `testTokens` a TestToken "PAY" is deployed and added. */
  paymentTokens: string[];
  /** Deploy freely mintable TestTokens (local networks only). */
  testTokens: boolean;
  /** Existing IRandomness; absent ⇒ the source `randomnessSource` names is deployed. */
  randomness?: string;
  /** Which IRandomness to deploy when `randomness` is absent (docs/randomness.md, v3 V3.5):
   * blockhash (local test chains only), prevrandao (L1), l1origin (OP Stack L2, needs `l1BlockOracle`),
   * vrf (needs `vrfCoordinator`). @default "blockhash" */
  randomnessSource: "blockhash" | "prevrandao" | "l1origin" | "vrf";
  /** The L2's L1-block oracle (OP Stack: 0x4200000000000000000000000000000000000015). */
  l1BlockOracle?: string;
  /** The VRF coordinator VrfRandomness requests from. */
  vrfCoordinator?: string;
  /** Receives DEFAULT_ADMIN_ROLE and GOVERNOR_ROLE on every contract (the deployer keeps its roles
   * unless `renounceDeployer`). Absent ⇒ the deployer governs. */
  governor?: string;
  renounceDeployer: boolean;
  unbondingPeriod: number;
  minJurorStake: bigint;
  /** Seconds per staking epoch: juror reserves (draw weights) change only at epoch boundaries (v3 V3.1). */
  epochLength: number;
  /** Least epoch time left for a draw to take its seed in that epoch; must cover the randomness delay and
   * the force-inclusion delay (v3 V3.2, V12). 2·drawWindow ≤ epochLength. */
  drawWindow: number;
  /** Blocks between scheduling an auditor draw and its seed block (≥ 64 with L1 RANDAO, v3 V3.5). */
  auditDrawDelay: number;
  auditorPenalty: bigint;
  /** Burned from an attester whose sample contained a convicted interval (v3 V11.2); ≤ auditorPenalty. */
  missPenalty: bigint;
  canaryRevealPeriod?: number;
  /** Seconds per CanaryRegistry epoch (one canary root per epoch, v3 V11.1); immutable once deployed. */
  canaryEpochLength: number;
  /** Seconds a censored transaction may wait before the chain must include it (an L2's force-inclusion
   * delay; 0 on L1 and local chains). Every deadline parameter must exceed it by DEADLINE_MARGIN (v3 V12). */
  forceInclusionDelay: number;
  jobMarket: JobMarketParams;
  dispute: DisputeParams;
  availability: AvailabilityParams;
}

const E18 = 10n ** 18n;

/** Defaults: the contracts' own constructor defaults plus the dispute table of PROTOCOL.md §9. */
export function defaultParams(): DeployParams {
  return {
    paymentTokens: [],
    testTokens: false,
    randomnessSource: "blockhash",
    renounceDeployer: false,
    forceInclusionDelay: 0,
    unbondingPeriod: 7 * 86_400,
    minJurorStake: 100n * E18,
    epochLength: 86_400,
    drawWindow: 4 * 3_600,
    auditDrawDelay: 1,
    auditorPenalty: 50n * E18,
    missPenalty: 10n * E18,
    canaryEpochLength: 86_400,
    jobMarket: {
      challengeWindow: 86_400,
      auditorsPerJob: 4,
      samplesPerAuditor: 8,
      hostileAuditorBps: 3_000,
      minCollateralBps: 10_000,
      livenessPenaltyBps: 1_000,
      timeoutBase: 3_600,
      refFlopsPerSecond: 1_000_000_000n,
      refBytesPerSecond: 10_000_000n,
    },
    dispute: {
      disputeBond: 100n * E18,
      commitBond: 25n * E18,
      appealBond: 200n * E18,
      jurorLock: 150n * E18,
      incoherencePenalty: 10n * E18,
      replayCost: 20n * E18,
      challengerBps: 5_000,
      jurorBps: 2_000,
      requesterBps: 2_000,
      bondJurorBps: 5_000,
      committeeSize: 3,
      quorum: 2,
      maxRounds: 2,
      maxAppeals: 1,
      randomnessDelay: 2,
      revealWindow: 3_600,
      appealWindow: 3_600,
      commitTTL: 3_600,
      maxExtension: 86_400,
      maxDrawWait: 86_400,
    },
    availability: {
      leafBond: 10n * E18,
      chunkBond: 10n * E18,
      answerFee: 2n * E18,
      openerFee: 5n * E18,
      perAnswerTime: 120,
      maxOpenPerCase: 32,
      maxPerCase: 4_096,
    },
  };
}

type Json = Record<string, unknown>;

const TOP_KEYS = new Set([
  "$comment",
  "chainId",
  "tokenDecimals",
  "stakingToken",
  "paymentTokens",
  "testTokens",
  "randomness",
  "governor",
  "renounceDeployer",
  "randomnessSource",
  "l1BlockOracle",
  "vrfCoordinator",
  "unbondingPeriod",
  "minJurorStake",
  "epochLength",
  "drawWindow",
  "auditDrawDelay",
  "auditorPenalty",
  "missPenalty",
  "canaryRevealPeriod",
  "canaryEpochLength",
  "forceInclusionDelay",
  "jobMarket",
  "dispute",
  "availability",
]);
const AMOUNT_KEYS = new Set([
  "minJurorStake",
  "auditorPenalty",
  "missPenalty",
  "disputeBond",
  "commitBond",
  "appealBond",
  "jurorLock",
  "incoherencePenalty",
  "replayCost",
  "leafBond",
  "chunkBond",
  "answerFee",
  "openerFee",
]);
const BIG_KEYS = new Set(["refFlopsPerSecond", "refBytesPerSecond"]);

/** Parses a config object (already JSON-decoded) onto the defaults; unknown keys are errors;
 * `null` leaves an optional address (stakingToken, randomness, governor) unset. */
export function parseDeployConfig(raw: unknown, source = "config"): DeployParams {
  if (!isObject(raw)) throw new DeployConfigError(`${source}: must be a JSON object`, { source });
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.has(k)) throw new DeployConfigError(`${source}: unknown key ${k}`, { source, key: k });
  }
  const decimals = raw.tokenDecimals === undefined ? 18 : int(raw.tokenDecimals, "tokenDecimals", source);
  const p = defaultParams();
  if (raw.stakingToken !== undefined && raw.stakingToken !== null) p.stakingToken = address(raw.stakingToken, "stakingToken", source);
  if (raw.paymentTokens !== undefined) {
    if (!Array.isArray(raw.paymentTokens)) throw new DeployConfigError(`${source}: paymentTokens must be an array`, { source });
    p.paymentTokens = raw.paymentTokens.map((a, i) => address(a, `paymentTokens[${i}]`, source));
  }
  if (raw.testTokens !== undefined) p.testTokens = bool(raw.testTokens, "testTokens", source);
  if (raw.randomness !== undefined && raw.randomness !== null) p.randomness = address(raw.randomness, "randomness", source);
  if (raw.randomnessSource !== undefined) {
    const sources = ["blockhash", "prevrandao", "l1origin", "vrf"] as const;
    const v = raw.randomnessSource;
    if (typeof v !== "string" || !(sources as readonly string[]).includes(v)) {
      throw new DeployConfigError(`${source}: randomnessSource must be one of ${sources.join(", ")}`, {
        source,
        key: "randomnessSource",
        value: v,
      });
    }
    p.randomnessSource = v as DeployParams["randomnessSource"];
  }
  if (raw.l1BlockOracle !== undefined && raw.l1BlockOracle !== null) p.l1BlockOracle = address(raw.l1BlockOracle, "l1BlockOracle", source);
  if (raw.vrfCoordinator !== undefined && raw.vrfCoordinator !== null)
    p.vrfCoordinator = address(raw.vrfCoordinator, "vrfCoordinator", source);
  if (raw.governor !== undefined && raw.governor !== null) p.governor = address(raw.governor, "governor", source);
  if (raw.renounceDeployer !== undefined) p.renounceDeployer = bool(raw.renounceDeployer, "renounceDeployer", source);
  if (raw.unbondingPeriod !== undefined) p.unbondingPeriod = int(raw.unbondingPeriod, "unbondingPeriod", source);
  if (raw.minJurorStake !== undefined) p.minJurorStake = amount(raw.minJurorStake, "minJurorStake", decimals, source);
  if (raw.epochLength !== undefined) p.epochLength = int(raw.epochLength, "epochLength", source);
  if (raw.drawWindow !== undefined) p.drawWindow = int(raw.drawWindow, "drawWindow", source);
  if (raw.auditDrawDelay !== undefined) p.auditDrawDelay = int(raw.auditDrawDelay, "auditDrawDelay", source);
  if (raw.auditorPenalty !== undefined) p.auditorPenalty = amount(raw.auditorPenalty, "auditorPenalty", decimals, source);
  if (raw.missPenalty !== undefined) p.missPenalty = amount(raw.missPenalty, "missPenalty", decimals, source);
  if (raw.canaryRevealPeriod !== undefined && raw.canaryRevealPeriod !== null)
    p.canaryRevealPeriod = int(raw.canaryRevealPeriod, "canaryRevealPeriod", source);
  if (raw.canaryEpochLength !== undefined) p.canaryEpochLength = int(raw.canaryEpochLength, "canaryEpochLength", source);
  if (raw.jobMarket !== undefined) mergeSection(p.jobMarket as unknown as Json, raw.jobMarket, "jobMarket", decimals, source);
  if (raw.dispute !== undefined) mergeSection(p.dispute as unknown as Json, raw.dispute, "dispute", decimals, source);
  if (raw.availability !== undefined) mergeSection(p.availability as unknown as Json, raw.availability, "availability", decimals, source);
  if (raw.forceInclusionDelay !== undefined) p.forceInclusionDelay = int(raw.forceInclusionDelay, "forceInclusionDelay", source);
  checkDeadlines(p, source);
  checkEpochs(p, source);
  checkRandomness(p, source);
  if (p.stakingToken === undefined && !p.testTokens) {
    throw new DeployConfigError(`${source}: stakingToken is required unless testTokens is true`, { source });
  }
  if (p.renounceDeployer && p.governor === undefined) {
    throw new DeployConfigError(`${source}: renounceDeployer needs a governor`, { source });
  }
  return p;
}

/** Margin over the force-inclusion delay that every deadline keeps (v3 V12). */
export const DEADLINE_MARGIN = 3_600;

/** v3 V12: a party censored until the chain must include its transaction still meets every deadline.
 * Deadlines are in seconds (timestamps), so one delay in seconds covers them all. */
function checkDeadlines(p: DeployParams, source = "config"): void {
  if (p.forceInclusionDelay === 0) return;
  const min = p.forceInclusionDelay + DEADLINE_MARGIN;
  const deadlines: [string, number][] = [
    ["jobMarket.challengeWindow", p.jobMarket.challengeWindow],
    ["jobMarket.timeoutBase", p.jobMarket.timeoutBase],
    ["dispute.revealWindow", p.dispute.revealWindow],
    ["dispute.appealWindow", p.dispute.appealWindow],
    ["dispute.commitTTL", p.dispute.commitTTL],
    ["dispute.maxDrawWait", p.dispute.maxDrawWait],
  ];
  for (const [key, value] of deadlines) {
    if (value < min) {
      throw new DeployConfigError(
        `${source}: ${key} = ${value} s is shorter than forceInclusionDelay + ${DEADLINE_MARGIN} s = ${min} s: a censored party could miss it`,
        { source, key, value },
      );
    }
  }
}

/** RANDAO lookahead: a prevrandao seed must lie ≥ 64 slots after the commitment (v3 V3.5). */
const MIN_PREVRANDAO_DELAY = 64;

/** v3 V3.5: the deployed source has what it needs, and prevrandao seeds lie far enough ahead. */
export function checkRandomness(p: DeployParams, source = "config"): void {
  if (p.randomness !== undefined) return;
  if (p.randomnessSource === "l1origin" && p.l1BlockOracle === undefined) {
    throw new DeployConfigError(`${source}: randomnessSource l1origin needs l1BlockOracle`, { source, key: "l1BlockOracle" });
  }
  if (p.randomnessSource === "vrf" && p.vrfCoordinator === undefined) {
    throw new DeployConfigError(`${source}: randomnessSource vrf needs vrfCoordinator`, { source, key: "vrfCoordinator" });
  }
  if (p.randomnessSource === "prevrandao") {
    for (const [key, value] of [
      ["dispute.randomnessDelay", p.dispute.randomnessDelay],
      ["auditDrawDelay", p.auditDrawDelay],
    ] as const) {
      if (value < MIN_PREVRANDAO_DELAY) {
        throw new DeployConfigError(
          `${source}: ${key} = ${value} blocks is below ${MIN_PREVRANDAO_DELAY}: a proposer could know a prevrandao seed when the draw is scheduled`,
          { source, key, value },
        );
      }
    }
  }
}

/** v3 V3.1/V3.2: a draw seeded in an epoch must fit in it, and at least half of each epoch takes seeds. */
function checkEpochs(p: DeployParams, source = "config"): void {
  const fail = (key: string, value: number, why: string): never => {
    throw new DeployConfigError(`${source}: ${key} = ${value} ${why}`, { source, key, value });
  };
  if (p.epochLength < 60) fail("epochLength", p.epochLength, "s is below the contract's minimum of 60 s");
  if (p.drawWindow === 0 || 2 * p.drawWindow > p.epochLength) {
    fail("drawWindow", p.drawWindow, `s must be positive and at most half of epochLength (${p.epochLength} s)`);
  }
  if (p.forceInclusionDelay > 0 && p.drawWindow < p.forceInclusionDelay + DEADLINE_MARGIN) {
    fail(
      "drawWindow",
      p.drawWindow,
      `s is shorter than forceInclusionDelay + ${DEADLINE_MARGIN} s: a censored draw could slip into the next epoch`,
    );
  }
  if (p.auditDrawDelay === 0 || p.auditDrawDelay > 256) fail("auditDrawDelay", p.auditDrawDelay, "blocks must be 1..256");
}

function mergeSection(target: Json, raw: unknown, section: string, decimals: number, source: string): void {
  if (!isObject(raw)) throw new DeployConfigError(`${source}: ${section} must be an object`, { source, key: section });
  for (const [k, v] of Object.entries(raw)) {
    if (k === "$comment") continue;
    if (!(k in target)) throw new DeployConfigError(`${source}: unknown key ${section}.${k}`, { source, key: `${section}.${k}` });
    const name = `${section}.${k}`;
    target[k] = AMOUNT_KEYS.has(k) ? amount(v, name, decimals, source) : BIG_KEYS.has(k) ? big(v, name, source) : int(v, name, source);
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function int(v: unknown, key: string, source: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new DeployConfigError(`${source}: ${key} must be a non-negative integer`, { source, key, value: v });
  }
  return v;
}

function big(v: unknown, key: string, source: string): bigint {
  if ((typeof v === "number" && Number.isSafeInteger(v) && v >= 0) || (typeof v === "string" && /^[0-9]+$/.test(v))) return BigInt(v);
  throw new DeployConfigError(`${source}: ${key} must be a non-negative integer (number or decimal string)`, { source, key, value: v });
}

function amount(v: unknown, key: string, decimals: number, source: string): bigint {
  if (typeof v !== "string" || !/^[0-9]+(\.[0-9]+)?$/.test(v)) {
    throw new DeployConfigError(`${source}: ${key} must be a decimal string of whole tokens, e.g. "100"`, { source, key, value: v });
  }
  try {
    return parseUnits(v, decimals);
  } catch (cause) {
    throw new DeployConfigError(`${source}: ${key} has more than ${decimals} decimals`, { source, key, value: v, cause });
  }
}

function bool(v: unknown, key: string, source: string): boolean {
  if (typeof v !== "boolean") throw new DeployConfigError(`${source}: ${key} must be true or false`, { source, key, value: v });
  return v;
}

function address(v: unknown, key: string, source: string): string {
  if (typeof v !== "string") throw new DeployConfigError(`${source}: ${key} must be an address string`, { source, key, value: v });
  try {
    return getAddress(v);
  } catch (cause) {
    throw new DeployConfigError(`${source}: ${key} is not a valid address`, { source, key, value: v, cause });
  }
}

/** JSON form of the params for the registry file (bigints as decimal strings of base units). */
export function paramsToJson(p: DeployParams): Record<string, unknown> {
  return JSON.parse(JSON.stringify(p, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as Record<string, unknown>;
}
