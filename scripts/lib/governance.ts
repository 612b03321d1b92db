/**
 * Governance after deployment: set one named parameter, grant or revoke a role, allow-list a
 * payment token, read every parameter. Each call goes through the contracts' own setters (which
 * check bounds and emit events) with typechain types; used by the `upow:*` Hardhat tasks.
 * Parameter names are `<Contract>.<param>`; amounts are whole tokens as in the deploy config.
 */
import { ZeroHash, getAddress, id, isAddress, parseUnits, type ContractTransactionResponse } from "ethers";
import type { IDisputeManager } from "../../typechain-types/contracts/DisputeManager";
import type { IDataAvailability } from "../../typechain-types/contracts/DataAvailability";
import type { Deployment, UPowContracts } from "../../verifier/chain/registry";
import { GovernanceError } from "./errors";

type Kind = "int" | "amount";
interface ParamDef {
  kind: Kind;
  get(c: UPowContracts): Promise<bigint>;
  set(c: UPowContracts, v: bigint): Promise<ContractTransactionResponse>;
}

const DISPUTE_FIELDS = [
  "disputeBond",
  "commitBond",
  "appealBond",
  "jurorLock",
  "incoherencePenalty",
  "replayCost",
  "challengerBps",
  "jurorBps",
  "requesterBps",
  "bondJurorBps",
  "committeeSize",
  "quorum",
  "maxRounds",
  "maxAppeals",
  "randomnessDelay",
  "revealWindow",
  "appealWindow",
  "commitTTL",
  "maxExtension",
  "maxDrawWait",
] as const;
type DisputeField = (typeof DISPUTE_FIELDS)[number];
const DISPUTE_AMOUNTS = new Set<DisputeField>(["disputeBond", "commitBond", "appealBond", "jurorLock", "incoherencePenalty", "replayCost"]);
const AVAILABILITY_FIELDS = ["leafBond", "chunkBond", "answerFee", "openerFee", "perAnswerTime", "maxOpenPerCase", "maxPerCase"] as const;
type AvailabilityField = (typeof AVAILABILITY_FIELDS)[number];
const AVAILABILITY_AMOUNTS = new Set<AvailabilityField>(["leafBond", "chunkBond", "answerFee", "openerFee"]);

async function availabilityParams(c: UPowContracts): Promise<Record<AvailabilityField, bigint>> {
  const p = await c.dataAvailability.params();
  const out = {} as Record<AvailabilityField, bigint>;
  for (const f of AVAILABILITY_FIELDS) out[f] = BigInt(p[f]);
  return out;
}

async function disputeParams(c: UPowContracts): Promise<Record<DisputeField, bigint>> {
  const p = await c.disputeManager.params();
  const out = {} as Record<DisputeField, bigint>;
  for (const f of DISPUTE_FIELDS) out[f] = BigInt(p[f as keyof typeof p] as bigint);
  return out;
}

function jobMarketDefs(): Record<string, ParamDef> {
  const audit = ["auditorsPerJob", "samplesPerAuditor", "hostileAuditorBps"] as const;
  const coll = ["minCollateralBps", "livenessPenaltyBps"] as const;
  const tout = ["timeoutBase", "refFlopsPerSecond", "refBytesPerSecond"] as const;
  const defs: Record<string, ParamDef> = {
    "JobMarket.challengeWindow": {
      kind: "int",
      get: (c) => c.jobMarket.challengeWindow(),
      set: (c, v) => c.jobMarket.setChallengeWindow(v),
    },
  };
  audit.forEach((name, i) => {
    defs[`JobMarket.${name}`] = {
      kind: "int",
      get: (c) => c.jobMarket[name](),
      set: async (c, v) => {
        const cur = await Promise.all(audit.map((n) => c.jobMarket[n]()));
        cur[i] = v;
        return c.jobMarket.setAuditParams(cur[0], cur[1], cur[2]);
      },
    };
  });
  coll.forEach((name, i) => {
    defs[`JobMarket.${name}`] = {
      kind: "int",
      get: (c) => c.jobMarket[name](),
      set: async (c, v) => {
        const cur = await Promise.all(coll.map((n) => c.jobMarket[n]()));
        cur[i] = v;
        return c.jobMarket.setCollateralParams(cur[0], cur[1]);
      },
    };
  });
  tout.forEach((name, i) => {
    defs[`JobMarket.${name}`] = {
      kind: "int",
      get: (c) => c.jobMarket[name](),
      set: async (c, v) => {
        const cur = await Promise.all(tout.map((n) => c.jobMarket[n]()));
        cur[i] = v;
        return c.jobMarket.setTimeoutParams(cur[0], cur[1], cur[2]);
      },
    };
  });
  return defs;
}

/** Every settable parameter by name. */
const PARAMS: Readonly<Record<string, ParamDef>> = {
  "StakeManager.unbondingPeriod": {
    kind: "int",
    get: (c) => c.stakeManager.unbondingPeriod(),
    set: (c, v) => c.stakeManager.setUnbondingPeriod(v),
  },
  "StakeManager.minJurorStake": {
    kind: "amount",
    get: (c) => c.stakeManager.minJurorStake(),
    set: (c, v) => c.stakeManager.setMinJurorStake(v),
  },
  ...jobMarketDefs(),
  "AuditManager.auditorPenalty": {
    kind: "amount",
    get: (c) => c.auditManager.auditorPenalty(),
    set: (c, v) => c.auditManager.setAuditorPenalty(v),
  },
  "AuditManager.missPenalty": {
    kind: "amount",
    get: (c) => c.auditManager.missPenalty(),
    set: (c, v) => c.auditManager.setMissPenalty(v),
  },
  "AuditManager.canaryRevealPeriod": {
    kind: "int",
    get: (c) => c.auditManager.canaryRevealPeriod(),
    set: (c, v) => c.auditManager.setCanaryRevealPeriod(v),
  },
  ...Object.fromEntries(
    DISPUTE_FIELDS.map((f): [string, ParamDef] => [
      `DisputeManager.${f}`,
      {
        kind: DISPUTE_AMOUNTS.has(f) ? "amount" : "int",
        get: async (c) => (await disputeParams(c))[f],
        set: async (c, v) => {
          const next: IDisputeManager.ParamsStruct = { ...(await disputeParams(c)), [f]: v };
          return c.disputeManager.setParams(next);
        },
      },
    ]),
  ),
  ...Object.fromEntries(
    AVAILABILITY_FIELDS.map((f): [string, ParamDef] => [
      `DataAvailability.${f}`,
      {
        kind: AVAILABILITY_AMOUNTS.has(f) ? "amount" : "int",
        get: async (c) => (await availabilityParams(c))[f],
        set: async (c, v) => {
          const next: IDataAvailability.ParamsStruct = { ...(await availabilityParams(c)), [f]: v };
          return c.dataAvailability.setParams(next);
        },
      },
    ]),
  ),
};

const PARAM_NAMES: readonly string[] = Object.keys(PARAMS);

/** Parses a value for `name`: integers for counts/seconds/bps, whole tokens for amounts. */
export function parseParamValue(name: string, value: string, decimals = 18): bigint {
  const def = PARAMS[name];
  if (def === undefined) throw new GovernanceError(`unknown parameter ${name}`, { details: { name, known: PARAM_NAMES } });
  if (def.kind === "amount") {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value))
      throw new GovernanceError(`${name} takes whole tokens, e.g. "100"`, { details: { name, value } });
    return parseUnits(value, decimals);
  }
  if (!/^[0-9]+$/.test(value)) throw new GovernanceError(`${name} takes a non-negative integer`, { details: { name, value } });
  return BigInt(value);
}

export interface SetParamReturnType {
  name: string;
  before: bigint;
  after: bigint;
  txHash: string;
}

/** Sets one parameter through its contract setter; the contract checks bounds (a revert is thrown as is). */
export async function setParam(c: UPowContracts, name: string, value: string, decimals = 18): Promise<SetParamReturnType> {
  const v = parseParamValue(name, value, decimals);
  const def = PARAMS[name];
  const before = await def.get(c);
  const tx = await def.set(c, v);
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new GovernanceError(`${name}: transaction failed`, { details: { hash: tx.hash } });
  return { name, before, after: await def.get(c), txHash: tx.hash };
}

/** Every parameter's current value. */
export async function readParams(c: UPowContracts): Promise<Record<string, bigint>> {
  const out: Record<string, bigint> = {};
  for (const name of PARAM_NAMES) out[name] = await PARAMS[name].get(c);
  return out;
}

const ROLES: Readonly<Record<string, readonly string[]>> = {
  StakeManager: ["DEFAULT_ADMIN_ROLE", "GOVERNOR_ROLE", "MODULE_ROLE"],
  JobMarket: ["DEFAULT_ADMIN_ROLE", "GOVERNOR_ROLE", "DISPUTE_ROLE"],
  AuditManager: ["DEFAULT_ADMIN_ROLE", "GOVERNOR_ROLE"],
  CanaryRegistry: ["DEFAULT_ADMIN_ROLE", "CANARY_ROLE"],
  DisputeManager: ["DEFAULT_ADMIN_ROLE", "GOVERNOR_ROLE"],
  DataAvailability: ["DEFAULT_ADMIN_ROLE", "GOVERNOR_ROLE"],
};

function roleHash(contract: string, role: string): string {
  const roles = ROLES[contract];
  if (roles === undefined) throw new GovernanceError(`unknown contract ${contract}`, { details: { contract, known: Object.keys(ROLES) } });
  if (!roles.includes(role)) throw new GovernanceError(`${contract} has no role ${role}`, { details: { contract, role, known: roles } });
  return role === "DEFAULT_ADMIN_ROLE" ? ZeroHash : id(role);
}

function accessControl(c: UPowContracts, contract: string) {
  switch (contract) {
    case "StakeManager":
      return c.stakeManager;
    case "JobMarket":
      return c.jobMarket;
    case "AuditManager":
      return c.auditManager;
    case "DisputeManager":
      return c.disputeManager;
    case "DataAvailability":
      return c.dataAvailability;
    case "CanaryRegistry":
      return c.canaryRegistry;
    default:
      throw new GovernanceError(`unknown contract ${contract}`, { details: { contract } });
  }
}

/** An address, or a registry key ("DisputeManager") naming a deployed contract. */
function resolveAccount(deployment: Deployment, account: string): string {
  if (isAddress(account)) return getAddress(account);
  const entry = (deployment.contracts as Record<string, { address: string } | undefined>)[account];
  if (entry === undefined)
    throw new GovernanceError(`${account} is neither an address nor a contract of the deployment`, { details: { account } });
  return entry.address;
}

export interface RoleChangeReturnType {
  contract: string;
  role: string;
  account: string;
  hasRole: boolean;
  txHash: string | null;
}

/** Grants (or with `revoke`, revokes) `role` on `contract`. No transaction when nothing would change. */
export async function changeRole(
  c: UPowContracts,
  deployment: Deployment,
  contract: string,
  role: string,
  account: string,
  revoke = false,
): Promise<RoleChangeReturnType> {
  const hash = roleHash(contract, role);
  const target = accessControl(c, contract);
  const who = resolveAccount(deployment, account);
  let txHash: string | null = null;
  if ((await target.hasRole(hash, who)) === revoke) {
    const tx = revoke ? await target.revokeRole(hash, who) : await target.grantRole(hash, who);
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1)
      throw new GovernanceError(`${contract}.${revoke ? "revoke" : "grant"}Role failed`, { details: { hash: tx.hash } });
    txHash = tx.hash;
  }
  return { contract, role, account: who, hasRole: await target.hasRole(hash, who), txHash };
}

/** Allow-lists (or removes) a payment token on the JobMarket. */
// Loaded by scripts/tasks.ts through `await import()`, which the unused-export check does not follow.
// ts-unused-exports:disable-next-line
export async function allowToken(c: UPowContracts, token: string, allowed = true): Promise<string> {
  if (!isAddress(token)) throw new GovernanceError(`${token} is not an address`, { details: { token } });
  const tx = await c.jobMarket.setTokenAllowed(getAddress(token), allowed);
  await tx.wait();
  return tx.hash;
}
