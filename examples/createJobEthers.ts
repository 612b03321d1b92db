/**
 * Integrator example (ethers v6 + typechain): create a training job with the SDK's `createJob`
 * and follow it to the end with `waitForFinal`, with the addresses from
 * `deployments/<network>.json` and the SDK's typechain factories.
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
  JsonRpcProvider,
  Wallet,
  isError,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Provider,
  type Signer,
} from "ethers";
import { exampleDeployment, exampleRpcUrl } from "./env";
import { decodeRevertData, revertDataOf } from "../verifier/chain/revert";
import {
  createJob,
  IERC20__factory,
  JobMarket__factory,
  serveArtifacts,
  TestToken__factory,
  UPowError,
  waitForFinal,
  WaitTimeoutError,
  type Deployment,
  type FinalStatus,
} from "../verifier/sdk";

export const HARDHAT_ACCOUNT_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** A step of the example failed; the message names the step ("approve reward failed: …"). */
export class ExampleStepError extends UPowError {
  override readonly name = "ExampleStepError";
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
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

  async send(
    step: string,
    send: (overrides: { nonce: number }) => Promise<ContractTransactionResponse>,
  ): Promise<ContractTransactionReceipt> {
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

  /**
   * After transactions sent elsewhere (the SDK's createJob), the last of which had nonce `last`: the
   * next send uses the one after it. Re-reading the pending count here could return the provider's
   * cached answer from before those sends (CI: "nonce has already been used" on cancelJob).
   */
  continueAfter(last: number): void {
    this.#nonce = last + 1;
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
  await steps.call("check the chain id", async () => {
    const { chainId } = await p.signer.provider.getNetwork();
    if (chainId !== BigInt(d.chainId)) throw new UPowError(`the provider is on chain ${chainId}, the deployment on ${d.chainId}`);
  });
  const payAddress = d.contracts.PaymentToken?.address;
  if (payAddress === undefined) throw new ExampleStepError("read the deployment", new UPowError("the deployment has no payment token"));
  // The SDK's typechain factories: typed contracts connected to the requester.
  const jobMarket = JobMarket__factory.connect(d.contracts.JobMarket.address, p.signer);
  const pay = IERC20__factory.connect(payAddress, p.signer);
  const me = await p.signer.getAddress();
  const reward = p.reward ?? 100n * 10n ** 18n;
  const fee = p.verificationFee ?? 10n * 10n ** 18n;
  // Local test tokens are freely mintable; on a real network the requester already holds the token.
  if (
    d.contracts.PaymentToken?.contractName === "TestToken" &&
    (await steps.call("read the token balance", () => pay.balanceOf(me))) < reward + fee
  ) {
    const token = TestToken__factory.connect(payAddress, p.signer);
    await steps.send("mint payment tokens", (o) => token.mint(me, reward + fee, o));
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-example-"));
  const server = await serveArtifacts({ dir });
  try {
    // Builds the artifacts, runs the checks a worker and the verifiers will run (a job they cannot
    // use would sit Open, silently), approves the escrow and creates the job.
    const created = await steps.call("create the job", () =>
      createJob({
        signer: p.signer,
        deployment: d,
        store: server.store,
        publicBaseUrl: server.url,
        reward,
        verificationFee: fee,
        job: {
          totalSteps: p.totalSteps ?? 8,
          checkpointInterval: p.checkpointInterval ?? 2,
          batchSize: 16,
          numBatches: 8,
          seed: `0x${Buffer.from(`ethers-example-${Date.now()}`).toString("hex").padEnd(64, "0").slice(0, 64)}`,
        },
      }),
    );
    const creation = await steps.call("read the creation transaction", async () => {
      const tx = await p.signer.provider.getTransaction(created.transactionHash);
      if (tx === null) throw new UPowError(`the provider does not know transaction ${created.transactionHash}`);
      return tx;
    });
    steps.continueAfter(creation.nonce);
    const jobId = created.jobId;
    log(`job ${jobId} created in block ${created.blockNumber} (spec ${created.specHash}, ${created.manifest.description})`);
    if (p.cancel === true) await steps.send("cancelJob", (o) => jobMarket.cancelJob(jobId, o));

    const events: string[] = [];
    let status: FinalStatus;
    try {
      status = await waitForFinal({
        provider: p.signer.provider,
        deployment: d,
        jobId,
        fromBlock: created.blockNumber,
        timeoutMs: p.timeoutMs ?? 30 * 60_000,
        pollMs: p.pollMs,
        onEvent: (e) => {
          events.push(e.name);
          log(`  block ${e.blockNumber}: ${e.name}`);
        },
      });
    } catch (e) {
      if (!(e instanceof WaitTimeoutError)) throw new ExampleStepError("follow the job", e);
      return { jobId, status: e.status, events };
    }
    const credit = await steps.call("read the refund credit", () => jobMarket.credits(payAddress, me));
    if (credit > 0n) {
      await steps.send("withdraw the refund", (o) => jobMarket.withdraw(payAddress, o));
      log(`  withdrew ${credit} (refund)`);
    }
    return { jobId, status, events };
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
