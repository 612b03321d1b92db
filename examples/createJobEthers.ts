/**
 * Integrator example (ethers v6 + typechain): create a training job and follow it to the end,
 * with the addresses from `deployments/<network>.json` and the typechain factories.
 *
 *   npx hardhat node                                            # terminal 1
 *   npx hardhat run scripts/deploy.ts --network localhost       # terminal 2
 *   (workers and verifiers in their own terminals: README.md)
 *   npx ts-node --transpile-only examples/createJobEthers.ts    # terminal 3
 *
 * Env: UPOW_RPC_URLS (first URL; or RPC_URL; default http://127.0.0.1:8545), UPOW_DEPLOYMENTS (the
 * deployment file; or NETWORK, default localhost), REQUESTER_KEY (Hardhat account #1), STEPS (8),
 * K (2), CANCEL=1 (cancel at once). Chain time is never moved here: on a local chain,
 * `npx hardhat upow:fast-forward --network localhost` skips the time nobody needs.
 *
 * Every transaction carries an explicit nonce, counted here from the account's pending count: an
 * ethers provider caches identical calls for a moment, so back-to-back sends that each ask for
 * the nonce can get the same one ("nonce has already been used").
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  JsonRpcProvider, Wallet, isError, type ContractRunner, type ContractTransactionReceipt, type ContractTransactionResponse, type Provider, type Signer,
} from "ethers";
import { TestToken__factory } from "../typechain-types";
import type { IJobMarket } from "../typechain-types/contracts/JobMarket";
import { assertChainId, connectDeployment, type Deployment } from "../verifier/chain/registry";
import { exampleDeployment, exampleRpcUrl } from "./env";
import { decodeRevertData, revertDataOf } from "../verifier/chain/revert";
import { UPowError } from "../verifier/errors";
import { JobStatus, jobStatusName } from "../verifier/protocol/enums";
import { prepareMnistJob } from "../verifier/requester/createJob";
import { validateJobSpec } from "../verifier/requester/validateJob";
import { LocalStore, startStoreServer } from "../verifier/store";

export const HARDHAT_ACCOUNT_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/** Job statuses after which nothing more happens to the job. */
const SETTLED: readonly number[] = [JobStatus.Finalized, JobStatus.Rejected, JobStatus.Cancelled];

/** A step of the example failed; the message names the step ("approve reward failed: …"). */
export class ExampleStepError extends UPowError {
  override readonly name = "ExampleStepError";
  constructor(readonly step: string, cause: unknown) {
    super(`${step} failed: ${describeFailure(cause)}`, { cause });
  }
}

/** The revert's decoded custom error or reason when there is one, else the provider's short message. */
function describeFailure(e: unknown): string {
  if (isError(e, "CALL_EXCEPTION") && e.revert) return `${e.revert.name}(${e.revert.args.map(String).join(", ")})`;
  const data = revertDataOf(e);
  if (data !== undefined && data !== "0x") return decodeRevertData(data).reason;
  if (e instanceof UPowError) return e.shortMessage;
  const short = (e as { shortMessage?: unknown }).shortMessage;
  return typeof short === "string" ? short : e instanceof Error ? e.message : String(e);
}

/**
 * The requester's transactions, one at a time, each with the next nonce and waited for; a failed
 * step is named. The nonce is re-read after a failure (the send may or may not have gone out).
 */
class Steps {
  #nonce: number | undefined;

  constructor(private readonly signer: Signer & { provider: Provider }) {}

  async send(step: string, send: (overrides: { nonce: number }) => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    try {
      this.#nonce ??= await this.signer.provider.getTransactionCount(await this.signer.getAddress(), "pending");
      const tx = await send({ nonce: this.#nonce });
      this.#nonce++;
      const receipt = await tx.wait();
      if (receipt === null) throw new UPowError("no receipt");
      return receipt;
    } catch (cause) {
      this.#nonce = undefined;
      throw new ExampleStepError(step, cause);
    }
  }

  async call<T>(step: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (cause) {
      throw new ExampleStepError(step, cause);
    }
  }
}

export interface EthersExampleParameters {
  deployment: Deployment;
  /** The requester, connected to a provider. */
  signer: Signer & { provider: Provider };
  reward?: bigint;
  verificationFee?: bigint;
  totalSteps?: number;
  checkpointInterval?: number;
  cancel?: boolean;
  /** @default 30 minutes */
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

export async function runEthersExample(p: EthersExampleParameters): Promise<{ jobId: bigint; status: string; events: string[] }> {
  const log = p.log ?? ((l: string) => console.log(l));
  const d = p.deployment;
  const steps = new Steps(p.signer);
  await steps.call("check the chain id", () => assertChainId(d, p.signer.provider));
  const c = connectDeployment(d, p.signer as ContractRunner);
  const payInfo = d.contracts.PaymentToken;
  if (c.paymentToken === undefined || payInfo === undefined) throw new ExampleStepError("read the deployment", new UPowError("the deployment has no payment token"));
  const pay = c.paymentToken;
  const me = await p.signer.getAddress();
  const reward = p.reward ?? 100n * 10n ** 18n;
  const fee = p.verificationFee ?? 10n * 10n ** 18n;
  // Local test tokens are freely mintable; on a real network the requester already holds the token.
  if (payInfo.contractName === "TestToken" && (await steps.call("read the token balance", () => pay.balanceOf(me))) < reward + fee) {
    const token = TestToken__factory.connect(payInfo.address, p.signer);
    await steps.send("mint payment tokens", (o) => token.mint(me, reward + fee, o));
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-example-"));
  const store = await LocalStore.open(dir);
  const server = await startStoreServer({ store });
  try {
    const job = await steps.call("prepare the job's artifacts", () => prepareMnistJob({
      store, publicBaseUrl: server.url, totalSteps: p.totalSteps ?? 8, checkpointInterval: p.checkpointInterval ?? 2, batchSize: 16,
      numBatches: 8, seed: `0x${Buffer.from(`ethers-example-${Date.now()}`).toString("hex").padEnd(64, "0").slice(0, 64)}`,
    }));
    const m = job.manifest;
    const now = BigInt((await steps.call("read the latest block", () => p.signer.provider.getBlock("latest")))!.timestamp);
    const params: IJobMarket.CreateJobParamsStruct = {
      paymentToken: payInfo.address, reward, verificationFee: fee,
      collateral: await steps.call("read the required collateral", () => c.jobMarket.requiredCollateral(reward)),
      totalSteps: BigInt(m.totalSteps), checkpointInterval: BigInt(m.checkpointInterval), numBatches: BigInt(m.data.numBatches),
      flopsPerStep: BigInt(m.flopsPerStep), stateBytes: BigInt(m.stateBytes), initialStateHash: job.initialStateHash, dataRoot: job.dataRoot,
      specHash: job.specHash, specURI: job.specURI, claimDeadline: now + 86_400n, trainingDuration: 86_400n,
    };
    // The checks a worker and the verifiers will run: a job they cannot use would sit Open, silently.
    const chainId = (await steps.call("read the chain id", () => p.signer.provider.getNetwork())).chainId;
    await steps.call("check the job's spec", () => validateJobSpec({ terms: params, allowPrivateArtifacts: chainId === 31337n || chainId === 1337n }));
    await steps.send("approve reward and fee", (o) => pay.approve(d.contracts.JobMarket.address, reward + fee, o));
    // staticCall first: a revert is decoded against the JobMarket ABI (e.g. JobMarketCollateralTooLow).
    const jobId = await steps.call("simulate createJob", () => c.jobMarket.createJob.staticCall(params));
    const receipt = await steps.send("createJob", (o) => c.jobMarket.createJob(params, o));
    log(`job ${jobId} created in block ${receipt.blockNumber} (spec ${job.specHash}, ${m.description})`);
    if (p.cancel === true) await steps.send("cancelJob", (o) => c.jobMarket.cancelJob(jobId, o));

    const events: string[] = [];
    let from = receipt.blockNumber;
    const deadline = Date.now() + (p.timeoutMs ?? 30 * 60_000);
    for (;;) {
      const to = await steps.call("read the block number", () => p.signer.provider.getBlockNumber());
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
        const found = (await steps.call("read the job's events", () => Promise.all(filters))).flat().sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
        for (const e of found) {
          events.push(e.eventName);
          log(`  block ${e.blockNumber}: ${e.eventName}`);
        }
        from = to + 1;
      }
      // Read at the block the events were read to: a status newer than the events would end the loop before its event is shown.
      const j = await steps.call("read the job", () => c.jobMarket.getJob(jobId, { blockTag: to }));
      const status = jobStatusName(j.status);
      if (SETTLED.includes(Number(j.status))) {
        const credit = await steps.call("read the refund credit", () => c.jobMarket.credits(payInfo.address, me));
        if (credit > 0n) {
          await steps.send("withdraw the refund", (o) => c.jobMarket.withdraw(payInfo.address, o));
          log(`  withdrew ${credit} (refund)`);
        }
        return { jobId, status, events };
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
  const provider = new JsonRpcProvider(exampleRpcUrl(process.env));
  const signer = new Wallet(process.env.REQUESTER_KEY ?? HARDHAT_ACCOUNT_1, provider);
  try {
    const r = await runEthersExample({
      deployment: exampleDeployment(process.env),
      signer: signer as Wallet & { provider: Provider },
      totalSteps: process.env.STEPS ? Number(process.env.STEPS) : undefined,
      checkpointInterval: process.env.K ? Number(process.env.K) : undefined,
      cancel: process.env.CANCEL === "1",
    });
    console.log(`job ${r.jobId} ended ${r.status}`);
  } finally {
    provider.destroy();
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
