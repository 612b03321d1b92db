/**
 * The deployments registry: `deployments/<network>.json`, written by `scripts/deploy.ts`, read here
 * by the daemons, the examples and the demo. `loadDeployment` validates the file and names what is
 * wrong; `connectDeployment` returns typechain-connected contracts; `assertChainId` refuses a
 * provider on another chain.
 */
import fs from "node:fs";
import path from "node:path";
import type { ContractRunner, InterfaceAbi, Provider } from "ethers";
import { getAddress } from "ethers";
import { UPowError } from "../errors";
import { PACKAGE_ROOT } from "./packageRoot";
import {
  AuditManager__factory,
  CanaryRegistry__factory,
  DataAvailability__factory,
  DisputeManager__factory,
  IERC20__factory,
  IRandomness__factory,
  JobMarket__factory,
  StakeManager__factory,
  type AuditManager,
  type CanaryRegistry,
  type DataAvailability,
  type DisputeManager,
  type IERC20,
  type IRandomness,
  type JobMarket,
  type StakeManager,
} from "../../typechain-types";

export const DEPLOYMENT_FORMAT = "upow-deployment/1";

/** Registry keys. Tokens are the addresses used, deployed or not (then blockNumber is null). */
export const CONTRACT_KEYS = [
  "StakingToken",
  "PaymentToken",
  "StakeManager",
  "Randomness",
  "JobMarket",
  "CanaryRegistry",
  "AuditManager",
  "DisputeLogic",
  "DisputeJury",
  "DisputeQueue",
  "DisputeEvidence",
  "DataAvailability",
  "DisputeManager",
] as const;
export type ContractKey = (typeof CONTRACT_KEYS)[number];
/** Keys every deployment must hold (PaymentToken is optional on networks without a default one). */
const REQUIRED_KEYS: readonly ContractKey[] = CONTRACT_KEYS.filter((k) => k !== "PaymentToken");

export interface DeployedContract {
  /** The Solidity contract behind the address (TestToken, BlockhashRandomness, IERC20, ...). */
  contractName: string;
  address: string;
  /** Block of the deploy transaction; null for a contract this deployment did not create. */
  blockNumber: number | null;
  txHash: string | null;
  abi: InterfaceAbi;
}

export interface Deployment {
  format: typeof DEPLOYMENT_FORMAT;
  network: string;
  chainId: number;
  deployer: string;
  /** `git rev-parse HEAD` of the deploying tree, "-dirty" appended for uncommitted changes. */
  gitCommit: string;
  deployedAt: string;
  /** Parameters used (amounts as decimal strings of base units). */
  params: Record<string, unknown>;
  contracts: Partial<Record<ContractKey, DeployedContract>> & Record<(typeof REQUIRED_KEYS)[number], DeployedContract>;
}

class RegistryError extends UPowError {
  override readonly name: string = "RegistryError";
}
export class DeploymentNotFoundError extends RegistryError {
  override readonly name: string = "DeploymentNotFoundError";
}
export class DeploymentInvalidError extends RegistryError {
  override readonly name: string = "DeploymentInvalidError";
}
export class DeploymentChainMismatchError extends RegistryError {
  override readonly name: string = "DeploymentChainMismatchError";
}

/** `deployments/` at the repository root. */
export const DEFAULT_DEPLOYMENTS_DIR = path.join(PACKAGE_ROOT, "deployments");

export function deploymentPath(network: string, dir: string = DEFAULT_DEPLOYMENTS_DIR): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(network)) throw new RegistryError(`bad network name ${JSON.stringify(network)}`);
  return path.join(dir, `${network}.json`);
}

export interface LoadDeploymentParameters {
  /** Network name: reads `<dir>/<network>.json`. */
  network?: string;
  /** @default DEFAULT_DEPLOYMENTS_DIR */
  dir?: string;
  /** An explicit file instead of network + dir. */
  file?: string;
}

export function loadDeployment(params: LoadDeploymentParameters): Deployment {
  const file = params.file ?? (params.network !== undefined ? deploymentPath(params.network, params.dir) : undefined);
  if (file === undefined) throw new RegistryError("loadDeployment needs a network or a file");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new DeploymentNotFoundError(`no deployment at ${file} (run scripts/deploy.ts for this network)`, { cause, details: { file } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new DeploymentInvalidError(`${file} is not JSON`, { cause, details: { file } });
  }
  return parseDeployment(raw, file);
}

/** Validates a decoded deployment file; names the first field that is wrong. */
function parseDeployment(raw: unknown, source = "deployment"): Deployment {
  const bad = (field: string, why: string): never => {
    throw new DeploymentInvalidError(`${source}: ${field} ${why}`, { details: { source, field } });
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return bad("(root)", "must be an object");
  const d = raw as Record<string, unknown>;
  if (d.format !== DEPLOYMENT_FORMAT) bad("format", `must be "${DEPLOYMENT_FORMAT}"`);
  if (typeof d.network !== "string") bad("network", "must be a string");
  if (typeof d.chainId !== "number" || !Number.isSafeInteger(d.chainId) || d.chainId <= 0) bad("chainId", "must be a positive integer");
  if (typeof d.contracts !== "object" || d.contracts === null) return bad("contracts", "must be an object");
  const contracts = d.contracts as Record<string, unknown>;
  for (const key of Object.keys(contracts)) {
    if (!(CONTRACT_KEYS as readonly string[]).includes(key)) bad(`contracts.${key}`, "is not a known contract key");
  }
  for (const key of REQUIRED_KEYS) if (contracts[key] === undefined) bad(`contracts.${key}`, "is missing");
  for (const [key, v] of Object.entries(contracts)) {
    const c = v as Record<string, unknown>;
    if (typeof c !== "object" || c === null) bad(`contracts.${key}`, "must be an object");
    if (typeof c.address !== "string") bad(`contracts.${key}.address`, "must be a string");
    try {
      getAddress(c.address as string);
    } catch {
      bad(`contracts.${key}.address`, "is not an address");
    }
    if (!Array.isArray(c.abi)) bad(`contracts.${key}.abi`, "must be an array");
    if (c.blockNumber !== null && (typeof c.blockNumber !== "number" || !Number.isSafeInteger(c.blockNumber))) {
      bad(`contracts.${key}.blockNumber`, "must be an integer or null");
    }
  }
  return raw as Deployment;
}

/** Throws DeploymentChainMismatchError unless the provider is on the deployment's chain. */
export async function assertChainId(deployment: Deployment, provider: Provider): Promise<void> {
  const { chainId } = await provider.getNetwork();
  if (chainId !== BigInt(deployment.chainId)) {
    throw new DeploymentChainMismatchError(
      `deployment ${deployment.network} is on chain ${deployment.chainId}, the provider on ${chainId}`,
      { details: { expected: deployment.chainId, actual: chainId.toString() } },
    );
  }
}

export interface UPowContracts {
  stakeManager: StakeManager;
  jobMarket: JobMarket;
  auditManager: AuditManager;
  canaryRegistry: CanaryRegistry;
  disputeManager: DisputeManager;
  dataAvailability: DataAvailability;
  randomness: IRandomness;
  stakingToken: IERC20;
  /** The default payment token, when the deployment has one. */
  paymentToken?: IERC20;
}

export function connectDeployment(deployment: Deployment, runner: ContractRunner): UPowContracts {
  const c = deployment.contracts;
  return {
    stakeManager: StakeManager__factory.connect(c.StakeManager.address, runner),
    jobMarket: JobMarket__factory.connect(c.JobMarket.address, runner),
    auditManager: AuditManager__factory.connect(c.AuditManager.address, runner),
    canaryRegistry: CanaryRegistry__factory.connect(c.CanaryRegistry.address, runner),
    disputeManager: DisputeManager__factory.connect(c.DisputeManager.address, runner),
    dataAvailability: DataAvailability__factory.connect(c.DataAvailability.address, runner),
    randomness: IRandomness__factory.connect(c.Randomness.address, runner),
    stakingToken: IERC20__factory.connect(c.StakingToken.address, runner),
    paymentToken: c.PaymentToken ? IERC20__factory.connect(c.PaymentToken.address, runner) : undefined,
  };
}

/** The first block worth scanning for events of this deployment (EventCursor start). */
export function deploymentStartBlock(deployment: Deployment): number {
  const blocks = Object.values(deployment.contracts)
    .map((c) => c?.blockNumber)
    .filter((b): b is number => typeof b === "number");
  return blocks.length === 0 ? 0 : Math.min(...blocks);
}

/** What a daemon takes from the registry: the contracts it talks to and the first block to scan. */
export interface DaemonAddresses {
  jobMarket: string;
  auditManager: string;
  disputeManager: string;
  stakeManager: string;
  startBlock: number;
  chainId: number;
}

/** `contracts.<key>.address` of a loaded deployment; names `source` (its file) and the field when the key is absent (PaymentToken is optional). */
export function deployedAddress(deployment: Deployment, key: ContractKey, source: string): string {
  const c = deployment.contracts[key];
  if (c === undefined)
    throw new DeploymentInvalidError(`${source}: contracts.${key} is missing`, { details: { source, field: `contracts.${key}` } });
  return getAddress(c.address);
}

export function daemonAddresses(deployment: Deployment): DaemonAddresses {
  const c = deployment.contracts;
  return {
    jobMarket: getAddress(c.JobMarket.address),
    auditManager: getAddress(c.AuditManager.address),
    disputeManager: getAddress(c.DisputeManager.address),
    stakeManager: getAddress(c.StakeManager.address),
    startBlock: deploymentStartBlock(deployment),
    chainId: deployment.chainId,
  };
}
