/** A deployment registry entry for a fixture system (deploySystem), as scripts/deploy.ts would write it. */
import { ZeroAddress } from "ethers";
import { DEPLOYMENT_FORMAT, type DeployedContract, type Deployment } from "../../verifier/chain/registry";
import type { System } from "./system";

export async function deploymentOf(sys: System, chainId: number): Promise<Deployment> {
  const entry = async (c: { getAddress(): Promise<string> }, name: string): Promise<DeployedContract> => ({
    contractName: name,
    address: await c.getAddress(),
    blockNumber: 0,
    txHash: null,
    abi: [],
  });
  const none: DeployedContract = { contractName: "-", address: ZeroAddress, blockNumber: null, txHash: null, abi: [] };
  return {
    format: DEPLOYMENT_FORMAT,
    network: "hardhat",
    chainId,
    deployer: sys.admin.address,
    gitCommit: "test",
    deployedAt: "",
    params: {},
    contracts: {
      StakingToken: await entry(sys.stakeToken, "TestToken"),
      PaymentToken: await entry(sys.payToken, "TestToken"),
      StakeManager: await entry(sys.stakeManager, "StakeManager"),
      Randomness: await entry(sys.randomness, "BlockhashRandomness"),
      JobMarket: await entry(sys.jobMarket, "JobMarket"),
      CanaryRegistry: await entry(sys.canaryRegistry, "CanaryRegistry"),
      AuditManager: await entry(sys.auditManager, "AuditManager"),
      DataAvailability: await entry(sys.dataAvailability, "DataAvailability"),
      DisputeManager: await entry(sys.disputeManager, "DisputeManager"),
      DisputeLogic: none,
      DisputeJury: none,
      DisputeQueue: none,
      DisputeEvidence: none,
    },
  };
}
