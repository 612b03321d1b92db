/**
 * `deployUPow`: deploys every uPoW contract (CanaryRegistry included) with one signer and wires them together:
 * StakeManager MODULE_ROLE → JobMarket, AuditManager, DisputeManager; JobMarket DISPUTE_ROLE →
 * DisputeManager; JobMarket.setAuditManager; payment tokens allow-listed; governance parameters
 * that differ from the constructors' defaults set; optionally a separate governor. Pure ethers +
 * typechain (no Hardhat runtime), so tests, the demo and `scripts/deploy.ts` share it.
 */
import type { ContractTransactionResponse, InterfaceAbi, Signer, TransactionReceipt } from "ethers";
import {
  AuditManager__factory,
  CanaryRegistry__factory,
  BlockhashRandomness__factory,
  L1OriginRandomness__factory,
  PrevrandaoRandomness__factory,
  VrfRandomness__factory,
  DisputeJury__factory,
  DisputeLogic__factory,
  DisputeManager__factory,
  DataAvailability__factory,
  DisputeQueue__factory,
  DisputeEvidence__factory,
  IERC20__factory,
  IRandomness__factory,
  JobMarket__factory,
  StakeManager__factory,
  TestToken__factory,
  type AuditManager,
  type CanaryRegistry,
  type DisputeManager,
  type DataAvailability,
  type JobMarket,
  type StakeManager,
} from "../../typechain-types";
import type { ContractKey, DeployedContract } from "../../verifier/chain/registry";
import { DeployError } from "./errors";
import type { DeployParams } from "./params";
import { assertRandomnessAllowed } from "./randomness";

export interface DeployUPowOptions {
  /** Progress lines ("deployed StakeManager at 0x…"). @default no output */
  log?: (line: string) => void;
  /** Confirmations to wait for each transaction. @default 1 */
  confirmations?: number;
}

export interface DeployUPowResult {
  contracts: Partial<Record<ContractKey, DeployedContract>>;
  /** Gas used per step (deploys and wiring calls), in order. */
  gas: { step: string; gasUsed: bigint }[];
  deployer: string;
  stakeManager: StakeManager;
  jobMarket: JobMarket;
  auditManager: AuditManager;
  canaryRegistry: CanaryRegistry;
  disputeManager: DisputeManager;
  dataAvailability: DataAvailability;
}

interface Deployable {
  getAddress(): Promise<string>;
  deploymentTransaction(): ContractTransactionResponse | null;
}

export async function deployUPow(signer: Signer, params: DeployParams, opts: DeployUPowOptions = {}): Promise<DeployUPowResult> {
  const log = opts.log ?? (() => undefined);
  const confirmations = opts.confirmations ?? 1;
  const deployer = await signer.getAddress();
  const contracts: Partial<Record<ContractKey, DeployedContract>> = {};
  const gas: { step: string; gasUsed: bigint }[] = [];

  const record = async <C extends Deployable>(
    key: ContractKey,
    contractName: string,
    abi: InterfaceAbi,
    pending: Promise<C>,
  ): Promise<C> => {
    const c = await pending;
    const tx = c.deploymentTransaction();
    if (tx === null) throw new DeployError(`${contractName}: no deployment transaction`);
    const receipt = await checked(tx.wait(confirmations), `deploy ${contractName}`);
    const address = await c.getAddress();
    contracts[key] = { contractName, address, blockNumber: receipt.blockNumber, txHash: receipt.hash, abi };
    gas.push({ step: `deploy ${key}`, gasUsed: receipt.gasUsed });
    log(`deployed ${key} (${contractName}) at ${address} in block ${receipt.blockNumber}`);
    return c;
  };
  const external = (key: ContractKey, contractName: string, address: string, abi: InterfaceAbi): void => {
    contracts[key] = { contractName, address, blockNumber: null, txHash: null, abi };
    log(`using existing ${key} at ${address}`);
  };
  const send = async (step: string, pending: Promise<ContractTransactionResponse>): Promise<void> => {
    const receipt = await checked((await pending).wait(confirmations), step);
    gas.push({ step, gasUsed: receipt.gasUsed });
    log(step);
  };

  if (params.stakingToken === undefined && !params.testTokens) {
    throw new DeployError("no staking token: set stakingToken or testTokens");
  }

  // Tokens.
  let stakingToken: string;
  if (params.stakingToken !== undefined) {
    stakingToken = params.stakingToken;
    external("StakingToken", "IERC20", stakingToken, IERC20__factory.abi);
  } else {
    const t = await record(
      "StakingToken",
      "TestToken",
      TestToken__factory.abi,
      new TestToken__factory(signer).deploy("uPoW Stake", "USTK"),
    );
    stakingToken = await t.getAddress();
  }
  const paymentTokens = [...params.paymentTokens];
  if (params.testTokens) {
    const t = await record("PaymentToken", "TestToken", TestToken__factory.abi, new TestToken__factory(signer).deploy("uPoW Pay", "UPAY"));
    paymentTokens.unshift(await t.getAddress());
  } else if (paymentTokens.length > 0) {
    external("PaymentToken", "IERC20", paymentTokens[0], IERC20__factory.abi);
  }

  // Randomness.
  let randomness: string;
  if (params.randomness !== undefined) {
    randomness = params.randomness;
    external("Randomness", "IRandomness", randomness, IRandomness__factory.abi);
  } else {
    assertRandomnessAllowed((await signer.provider!.getNetwork()).chainId, params.randomnessSource);
    const src = params.randomnessSource;
    const r =
      src === "prevrandao"
        ? await record(
            "Randomness",
            "PrevrandaoRandomness",
            PrevrandaoRandomness__factory.abi,
            new PrevrandaoRandomness__factory(signer).deploy(),
          )
        : src === "l1origin"
          ? await record(
              "Randomness",
              "L1OriginRandomness",
              L1OriginRandomness__factory.abi,
              new L1OriginRandomness__factory(signer).deploy(params.l1BlockOracle!),
            )
          : src === "vrf"
            ? await record(
                "Randomness",
                "VrfRandomness",
                VrfRandomness__factory.abi,
                new VrfRandomness__factory(signer).deploy(params.vrfCoordinator!),
              )
            : await record(
                "Randomness",
                "BlockhashRandomness",
                BlockhashRandomness__factory.abi,
                new BlockhashRandomness__factory(signer).deploy(),
              );
    randomness = await r.getAddress();
  }

  // Core contracts.
  const stakeManager = await record(
    "StakeManager",
    "StakeManager",
    StakeManager__factory.abi,
    new StakeManager__factory(signer).deploy(
      stakingToken,
      deployer,
      params.unbondingPeriod,
      params.minJurorStake,
      params.epochLength,
      params.drawWindow,
    ),
  );
  const sm = await stakeManager.getAddress();
  const jobMarket = await record(
    "JobMarket",
    "JobMarket",
    JobMarket__factory.abi,
    new JobMarket__factory(signer).deploy(deployer, sm, randomness, "0x0000000000000000000000000000000000000000"),
  );
  const jm = await jobMarket.getAddress();
  const canaryRegistry = await record(
    "CanaryRegistry",
    "CanaryRegistry",
    CanaryRegistry__factory.abi,
    new CanaryRegistry__factory(signer).deploy(deployer, params.canaryEpochLength),
  );
  const auditManager = await record(
    "AuditManager",
    "AuditManager",
    AuditManager__factory.abi,
    new AuditManager__factory(signer).deploy(
      deployer,
      jm,
      sm,
      await canaryRegistry.getAddress(),
      params.auditorPenalty,
      params.missPenalty,
    ),
  );
  const am = await auditManager.getAddress();
  const dataAvailability = await record(
    "DataAvailability",
    "DataAvailability",
    DataAvailability__factory.abi,
    new DataAvailability__factory(signer).deploy(deployer, jm, stakingToken, params.availability),
  );
  const da = await dataAvailability.getAddress();
  const logic = await record("DisputeLogic", "DisputeLogic", DisputeLogic__factory.abi, new DisputeLogic__factory(signer).deploy());
  const jury = await record("DisputeJury", "DisputeJury", DisputeJury__factory.abi, new DisputeJury__factory(signer).deploy());
  const queue = await record("DisputeQueue", "DisputeQueue", DisputeQueue__factory.abi, new DisputeQueue__factory(signer).deploy());
  const evidence = await record(
    "DisputeEvidence",
    "DisputeEvidence",
    DisputeEvidence__factory.abi,
    new DisputeEvidence__factory({ "contracts/lib/DisputeLogic.sol:DisputeLogic": await logic.getAddress() }, signer).deploy(),
  );
  const libraries = {
    "contracts/lib/DisputeLogic.sol:DisputeLogic": await logic.getAddress(),
    "contracts/lib/DisputeJury.sol:DisputeJury": await jury.getAddress(),
    "contracts/lib/DisputeQueue.sol:DisputeQueue": await queue.getAddress(),
    "contracts/lib/DisputeEvidence.sol:DisputeEvidence": await evidence.getAddress(),
  };
  const disputeManager = await record(
    "DisputeManager",
    "DisputeManager",
    DisputeManager__factory.abi,
    new DisputeManager__factory(libraries, signer).deploy(sm, jm, randomness, da, deployer, params.dispute),
  );
  const dm = await disputeManager.getAddress();

  // Wiring.
  await send("JobMarket.setAuditManager", jobMarket.setAuditManager(am));
  await send("JobMarket.setDisputeManager", jobMarket.setDisputeManager(dm));
  await send("DataAvailability.setDisputeManager", dataAvailability.setDisputeManager(dm));
  const moduleRole = await stakeManager.MODULE_ROLE();
  for (const [name, addr] of [
    ["JobMarket", jm],
    ["AuditManager", am],
    ["DisputeManager", dm],
  ] as const) {
    await send(`StakeManager.grantRole(MODULE_ROLE, ${name})`, stakeManager.grantRole(moduleRole, addr));
  }
  await send("JobMarket.grantRole(DISPUTE_ROLE, DisputeManager)", jobMarket.grantRole(await jobMarket.DISPUTE_ROLE(), dm));
  for (const token of paymentTokens) await send(`JobMarket.setTokenAllowed(${token})`, jobMarket.setTokenAllowed(token, true));

  // Governance parameters that differ from the constructors' defaults.
  const p = params.jobMarket;
  if (BigInt(p.challengeWindow) !== (await jobMarket.challengeWindow())) {
    await send(`JobMarket.setChallengeWindow(${p.challengeWindow})`, jobMarket.setChallengeWindow(p.challengeWindow));
  }
  const [a, s, w] = await Promise.all([jobMarket.auditorsPerJob(), jobMarket.samplesPerAuditor(), jobMarket.hostileAuditorBps()]);
  if (BigInt(p.auditorsPerJob) !== a || BigInt(p.samplesPerAuditor) !== s || BigInt(p.hostileAuditorBps) !== w) {
    await send("JobMarket.setAuditParams", jobMarket.setAuditParams(p.auditorsPerJob, p.samplesPerAuditor, p.hostileAuditorBps));
  }
  const [mc, lp] = await Promise.all([jobMarket.minCollateralBps(), jobMarket.livenessPenaltyBps()]);
  if (BigInt(p.minCollateralBps) !== mc || BigInt(p.livenessPenaltyBps) !== lp) {
    await send("JobMarket.setCollateralParams", jobMarket.setCollateralParams(p.minCollateralBps, p.livenessPenaltyBps));
  }
  const [tb, rf, rb] = await Promise.all([jobMarket.timeoutBase(), jobMarket.refFlopsPerSecond(), jobMarket.refBytesPerSecond()]);
  if (BigInt(p.timeoutBase) !== tb || p.refFlopsPerSecond !== rf || p.refBytesPerSecond !== rb) {
    await send("JobMarket.setTimeoutParams", jobMarket.setTimeoutParams(p.timeoutBase, p.refFlopsPerSecond, p.refBytesPerSecond));
  }
  if (BigInt(params.auditDrawDelay) !== (await auditManager.drawDelay())) {
    await send(`AuditManager.setDrawDelay(${params.auditDrawDelay})`, auditManager.setDrawDelay(params.auditDrawDelay));
  }
  if (params.canaryRevealPeriod !== undefined && BigInt(params.canaryRevealPeriod) !== (await auditManager.canaryRevealPeriod())) {
    await send("AuditManager.setCanaryRevealPeriod", auditManager.setCanaryRevealPeriod(params.canaryRevealPeriod));
  }

  // Hand governance over.
  if (params.governor !== undefined && params.governor.toLowerCase() !== deployer.toLowerCase()) {
    const gov = params.governor;
    const targets = [
      ["StakeManager", stakeManager],
      ["JobMarket", jobMarket],
      ["AuditManager", auditManager],
      ["DisputeManager", disputeManager],
      ["DataAvailability", dataAvailability],
      ["CanaryRegistry", canaryRegistry],
    ] as const;
    for (const [name, c] of targets) {
      // The CanaryRegistry has no GOVERNOR_ROLE: its operator role is CANARY_ROLE.
      const roles = [
        await c.DEFAULT_ADMIN_ROLE(),
        name === "CanaryRegistry" ? await canaryRegistry.CANARY_ROLE() : await (c as AuditManager).GOVERNOR_ROLE(),
      ];
      for (const role of roles) await send(`${name}.grantRole(${role.slice(0, 10)}, governor)`, c.grantRole(role, gov));
      if (params.renounceDeployer) {
        // Admin last: renouncing it first would still work, but keep the order readable.
        for (const role of roles.reverse()) await send(`${name}.renounceRole(${role.slice(0, 10)})`, c.renounceRole(role, deployer));
      }
    }
  }

  return { contracts, gas, deployer, stakeManager, jobMarket, auditManager, canaryRegistry, disputeManager, dataAvailability };
}

async function checked(wait: Promise<TransactionReceipt | null>, step: string): Promise<TransactionReceipt> {
  const receipt = await wait;
  if (receipt === null || receipt.status !== 1)
    throw new DeployError(`${step}: transaction failed`, { details: { step, hash: receipt?.hash } });
  return receipt;
}
