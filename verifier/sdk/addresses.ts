/** Contract addresses of a deployment, typed for viem (`0x${string}`) and checksummed. */
import { getAddress } from "ethers";
import type { Deployment } from "../chain/registry";
import { SdkInputError } from "./errors";

export type Address = `0x${string}`;

export interface UPowAddresses {
  readonly chainId: number;
  readonly jobMarket: Address;
  readonly auditManager: Address;
  readonly disputeManager: Address;
  readonly stakeManager: Address;
  readonly dataAvailability: Address;
  readonly canaryRegistry: Address;
  /** The deployment's default payment token, when it has one. */
  readonly paymentToken?: Address;
  /** First block worth scanning for this deployment's events. */
  readonly startBlock: bigint;
}

/** The deployment's addresses for `getContract({ address, abi })` (pair with the `*Abi` exports). */
export function deploymentAddresses(deployment: Deployment): UPowAddresses {
  const c = deployment?.contracts;
  if (c === undefined) throw new SdkInputError("deployment", "is not a loaded deployment (loadDeployment)");
  const a = (x: { address: string }): Address => getAddress(x.address) as Address;
  const blocks = Object.values(c)
    .map((x) => x?.blockNumber)
    .filter((b): b is number => typeof b === "number");
  return {
    chainId: deployment.chainId,
    jobMarket: a(c.JobMarket),
    auditManager: a(c.AuditManager),
    disputeManager: a(c.DisputeManager),
    stakeManager: a(c.StakeManager),
    dataAvailability: a(c.DataAvailability),
    canaryRegistry: a(c.CanaryRegistry),
    paymentToken: c.PaymentToken ? a(c.PaymentToken) : undefined,
    startBlock: BigInt(blocks.length === 0 ? 0 : Math.min(...blocks)),
  };
}
