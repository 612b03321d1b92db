/**
 * Integrator example (ethers v6 + typechain): create a training job and follow it to the end,
 * with the addresses from `deployments/<network>.json` and the typechain factories.
 *
 *   npx hardhat node                                            # terminal 1
 *   npx hardhat run scripts/deploy.ts --network localhost       # terminal 2
 *   (workers and verifiers in their own terminals: README.md)
 *   npx ts-node --transpile-only examples/createJobEthers.ts    # terminal 3
 *
 * Env: RPC_URL (http://127.0.0.1:8545), NETWORK (localhost), REQUESTER_KEY (Hardhat account #1),
 * STEPS (8), K (2), FAST_FORWARD=1 (local node only: move chain time past the challenge window),
 * CANCEL=1 (cancel at once).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, Wallet, type ContractRunner, type Provider, type Signer } from "ethers";
import { TestToken__factory } from "../typechain-types";
import type { IJobMarket } from "../typechain-types/contracts/JobMarket";
import { assertChainId, connectDeployment, loadDeployment, type Deployment } from "../verifier/chain/registry";
import { prepareMnistJob } from "../verifier/requester/createJob";
import { LocalStore, startStoreServer } from "../verifier/store";

export const HARDHAT_ACCOUNT_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const STATUS = ["None", "Open", "Claimed", "Submitted", "Finalized", "Rejected", "Cancelled"] as const;
export type JobStatusName = (typeof STATUS)[number];

export interface EthersExampleParameters {
  deployment: Deployment;
  /** The requester, connected to a provider. */
  signer: Signer & { provider: Provider };
  reward?: bigint;
  verificationFee?: bigint;
  totalSteps?: number;
  checkpointInterval?: number;
  cancel?: boolean;
  /** Local node only: jump chain time past the challenge window once nobody disputes. */
  fastForward?: boolean;
  /** @default 30 minutes */
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

export async function runEthersExample(p: EthersExampleParameters): Promise<{ jobId: bigint; status: JobStatusName; events: string[] }> {
  const log = p.log ?? ((l: string) => console.log(l));
  const d = p.deployment;
  await assertChainId(d, p.signer.provider);
  const c = connectDeployment(d, p.signer as ContractRunner);
  if (c.paymentToken === undefined) throw new Error("the deployment has no payment token");
  const me = await p.signer.getAddress();
  const reward = p.reward ?? 100n * 10n ** 18n;
  const fee = p.verificationFee ?? 10n * 10n ** 18n;
  if (d.contracts.PaymentToken!.contractName === "TestToken" && (await c.paymentToken.balanceOf(me)) < reward + fee) {
    await (await TestToken__factory.connect(d.contracts.PaymentToken!.address, p.signer).mint(me, reward + fee)).wait();
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-example-"));
  const store = await LocalStore.open(dir);
  const server = await startStoreServer({ store });
  try {
    const job = await prepareMnistJob({
      store, publicBaseUrl: server.url, totalSteps: p.totalSteps ?? 8, checkpointInterval: p.checkpointInterval ?? 2, batchSize: 16,
      numBatches: 8, seed: `0x${Buffer.from(`ethers-example-${Date.now()}`).toString("hex").padEnd(64, "0").slice(0, 64)}`,
    });
    const m = job.manifest;
    const now = BigInt((await p.signer.provider.getBlock("latest"))!.timestamp);
    const params: IJobMarket.CreateJobParamsStruct = {
      paymentToken: d.contracts.PaymentToken!.address, reward, verificationFee: fee, collateral: await c.jobMarket.requiredCollateral(reward),
      totalSteps: BigInt(m.totalSteps), checkpointInterval: BigInt(m.checkpointInterval), numBatches: BigInt(m.data.numBatches),
      flopsPerStep: BigInt(m.flopsPerStep), stateBytes: BigInt(m.stateBytes), initialStateHash: job.initialStateHash, dataRoot: job.dataRoot,
      specHash: job.specHash, specURI: job.specURI, claimDeadline: now + 86_400n, trainingDuration: 86_400n,
    };
    await (await c.paymentToken.approve(await c.jobMarket.getAddress(), reward + fee)).wait();
    // staticCall first: a revert is decoded against the JobMarket ABI (e.g. JobMarketCollateralTooLow).
    const jobId = await c.jobMarket.createJob.staticCall(params);
    const receipt = (await (await c.jobMarket.createJob(params)).wait())!;
    log(`job ${jobId} created in block ${receipt.blockNumber} (spec ${job.specHash}, ${m.description})`);
    if (p.cancel === true) await (await c.jobMarket.cancelJob(jobId)).wait();

    const events: string[] = [];
    let from = receipt.blockNumber;
    const deadline = Date.now() + (p.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const to = await p.signer.provider.getBlockNumber();
      if (to >= from) {
        const filters = [
          c.jobMarket.queryFilter(c.jobMarket.filters.JobClaimed(jobId), from, to),
          c.jobMarket.queryFilter(c.jobMarket.filters.ResultSubmitted(jobId), from, to),
          c.jobMarket.queryFilter(c.jobMarket.filters.JobDisputeOpened(jobId), from, to),
          c.jobMarket.queryFilter(c.jobMarket.filters.JobFinalized(jobId), from, to),
          c.jobMarket.queryFilter(c.jobMarket.filters.JobRejected(jobId), from, to),
          c.jobMarket.queryFilter(c.jobMarket.filters.JobCancelled(jobId), from, to),
          c.auditManager.queryFilter(c.auditManager.filters.AuditorsAssigned(jobId), from, to),
          c.disputeManager.queryFilter(c.disputeManager.filters.WorkerConvicted(jobId), from, to),
        ];
        const found = (await Promise.all(filters)).flat().sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
        for (const e of found) {
          events.push(e.eventName);
          log(`  block ${e.blockNumber}: ${e.eventName}`);
        }
        from = to + 1;
      }
      const j = await c.jobMarket.getJob(jobId);
      const status = STATUS[Number(j.status)]!;
      if (status === "Finalized" || status === "Rejected" || status === "Cancelled") {
        const credit = await c.jobMarket.credits(d.contracts.PaymentToken!.address, me);
        if (credit > 0n) {
          await (await c.jobMarket.withdraw(d.contracts.PaymentToken!.address)).wait();
          log(`  withdrew ${credit} (refund)`);
        }
        return { jobId, status, events };
      }
      if (p.fastForward === true && status === "Submitted" && j.openDisputes === 0n) {
        const rpc = p.signer.provider as unknown as { send(method: string, params: unknown[]): Promise<unknown> };
        const t = BigInt((await p.signer.provider.getBlock("latest"))!.timestamp);
        if (t <= j.windowEnd) {
          await rpc.send("evm_setNextBlockTimestamp", [Number(j.windowEnd + 1n)]);
          await rpc.send("evm_mine", []);
        }
        await (await c.jobMarket.finalize(jobId)).wait();
      }
      if (Date.now() > deadline) return { jobId, status, events };
      await new Promise((r) => setTimeout(r, p.pollMs ?? 1000));
    }
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const provider = new JsonRpcProvider(process.env.RPC_URL ?? "http://127.0.0.1:8545");
  const signer = new Wallet(process.env.REQUESTER_KEY ?? HARDHAT_ACCOUNT_1, provider);
  const r = await runEthersExample({
    deployment: loadDeployment({ network: process.env.NETWORK ?? "localhost" }),
    signer: signer as Wallet & { provider: Provider },
    totalSteps: process.env.STEPS ? Number(process.env.STEPS) : undefined,
    checkpointInterval: process.env.K ? Number(process.env.K) : undefined,
    fastForward: process.env.FAST_FORWARD === "1",
    cancel: process.env.CANCEL === "1",
  });
  console.log(`job ${r.jobId} ended ${r.status}`);
  provider.destroy();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
