/**
 * Integrator example (viem): create a training job and follow it to the end, with the ABI and
 * SDK's typed `as const` ABIs, the addresses of `deployments/<network>.json` and viem's
 * `getContract` (every read, write and event argument typed, no casts).
 *
 *   npx hardhat node                                            # terminal 1
 *   npx hardhat run scripts/deploy.ts --network localhost       # terminal 2
 *   (workers and verifiers in their own terminals: README.md)
 *   npx ts-node --transpile-only examples/createJobViem.ts      # terminal 3
 *
 * Env: UPOW_RPC_URLS (first URL; or RPC_URL; default http://127.0.0.1:8545), UPOW_DEPLOYMENTS (the
 * deployment file; or NETWORK, default localhost), REQUESTER_KEY (Hardhat account #1), STEPS (8),
 * K (2), CANCEL=1 (cancel at once; shows the Cancelled end). Chain time is never moved here: on a
 * local chain, `npx hardhat upow:fast-forward --network localhost` skips the time nobody needs.
 * The requester serves the job's artifacts itself (dataset, step graph, initial state, manifest)
 * from a local artifact store on 127.0.0.1 for as long as the example runs.
 */
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getContract,
  http,
  parseEventLogs,
  type Address,
  type Hex,
  type Transport,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { exampleDeployment, exampleRpcUrl } from "./env";
import {
  auditManagerAbi,
  deploymentAddresses,
  disputeManagerAbi,
  jobMarketAbi,
  JobStatus,
  jobStatusName,
  prepareMnistJob,
  serveArtifacts,
  testTokenAbi,
  validateJobSpec,
  type Deployment,
} from "../verifier/sdk";

/** Hardhat's well-known test account #1 (never holds real funds). */
export const HARDHAT_ACCOUNT_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/** Job statuses after which nothing more happens to the job. */
const SETTLED: readonly number[] = [JobStatus.Finalized, JobStatus.Rejected, JobStatus.Cancelled];

export interface ViemExampleParameters {
  transport: Transport;
  deployment: Deployment;
  privateKey: Hex;
  /** @default 100 tokens */
  reward?: bigint;
  /** @default 10 tokens */
  verificationFee?: bigint;
  totalSteps?: number;
  checkpointInterval?: number;
  /** Cancel right after creation (the job ends Cancelled). @default false */
  cancel?: boolean;
  /** @default 30 minutes */
  timeoutMs?: number;
  /** @default 1000 */
  pollMs?: number;
  log?: (line: string) => void;
}

export interface ViemExampleReturnType {
  jobId: bigint;
  /** The job status name (JobStatus of the SDK). */
  status: string;
  events: string[];
}

export async function runViemExample(p: ViemExampleParameters): Promise<ViemExampleReturnType> {
  const log = p.log ?? ((l: string) => console.log(l));
  const d = p.deployment;
  // Checksummed, `0x${string}`-typed addresses; with the SDK's `as const` ABIs every read, write and event below is typed.
  const addresses = deploymentAddresses(d);
  const account = privateKeyToAccount(p.privateKey);
  const chain = defineChain({
    id: d.chainId,
    name: d.network,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [] } },
  });
  const publicClient = createPublicClient({ chain, transport: p.transport });
  const walletClient = createWalletClient({ chain, account, transport: p.transport });
  if ((await publicClient.getChainId()) !== d.chainId) throw new Error(`the RPC is not on chain ${d.chainId} (${d.network})`);

  const client = { public: publicClient, wallet: walletClient };
  const jobMarket = getContract({ address: addresses.jobMarket, abi: jobMarketAbi, client });
  const payAddress = addresses.paymentToken;
  if (payAddress === undefined) throw new Error("the deployment has no payment token");
  // testTokenAbi is an ERC-20 plus mint (local chains); erc20Abi is the plain interface.
  const token = getContract({ address: payAddress, abi: testTokenAbi, client });
  const reward = p.reward ?? 100n * 10n ** 18n;
  const fee = p.verificationFee ?? 10n * 10n ** 18n;
  const send = async (what: string, hash: Hex) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`${what} reverted (${hash})`);
    return r;
  };

  // Local test tokens are freely mintable; on a real network the requester already holds the token.
  if (d.contracts.PaymentToken?.contractName === "TestToken" && (await token.read.balanceOf([account.address])) < reward + fee) {
    await send("mint", await token.write.mint([account.address, reward + fee]));
  }

  // The job's artifacts, served by this process for the worker and the verifiers.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-example-"));
  const server = await serveArtifacts({ dir });
  try {
    const job = await prepareMnistJob({
      store: server.store,
      publicBaseUrl: server.url,
      totalSteps: p.totalSteps ?? 8,
      checkpointInterval: p.checkpointInterval ?? 2,
      batchSize: 16,
      numBatches: 8,
      seed: `0x${Buffer.from(`viem-example-${Date.now()}`).toString("hex").padEnd(64, "0").slice(0, 64)}`,
    });
    const m = job.manifest;
    const now = (await publicClient.getBlock()).timestamp;
    const params = {
      paymentToken: payAddress,
      reward,
      verificationFee: fee,
      collateral: await jobMarket.read.requiredCollateral([reward]),
      totalSteps: BigInt(m.totalSteps),
      checkpointInterval: BigInt(m.checkpointInterval),
      numBatches: BigInt(m.data.numBatches),
      flopsPerStep: BigInt(m.flopsPerStep),
      stateBytes: BigInt(m.stateBytes),
      initialStateHash: job.initialStateHash as Hex,
      dataRoot: job.dataRoot as Hex,
      specHash: job.specHash as Hex,
      specURI: job.specURI,
      claimDeadline: now + 86_400n,
      trainingDuration: 86_400n,
    };
    // The checks a worker and the verifiers will run: a job they cannot use would sit Open, silently.
    await validateJobSpec({ terms: params, allowPrivateArtifacts: d.chainId === 31337 || d.chainId === 1337 });
    await send("approve", await token.write.approve([jobMarket.address, reward + fee]));
    // Simulate first: a revert comes back as a decoded custom error (e.g. JobMarketTokenNotAllowed).
    const { request } = await publicClient.simulateContract({
      address: jobMarket.address,
      abi: jobMarketAbi,
      functionName: "createJob",
      args: [params],
      account,
    });
    const receipt = await send("createJob", await walletClient.writeContract(request));
    const created = parseEventLogs({ abi: jobMarketAbi, logs: receipt.logs, eventName: "JobCreated" })[0];
    if (created === undefined) throw new Error("no JobCreated event");
    const jobId = created.args.jobId;
    log(`job ${jobId} created (spec ${job.specHash}, ${m.description}); escrow ${reward + fee}`);
    if (p.cancel === true) await send("cancelJob", await jobMarket.write.cancelJob([jobId]));

    return { jobId, ...(await follow()) };

    async function follow(): Promise<{ status: string; events: string[] }> {
      const events: string[] = [];
      let fromBlock = receipt.blockNumber;
      const deadline = Date.now() + (p.timeoutMs ?? 30 * 60_000);
      for (;;) {
        const toBlock = await publicClient.getBlockNumber();
        if (toBlock >= fromBlock) {
          const range = { fromBlock, toBlock };
          const logs = [
            ...(await publicClient.getContractEvents({ address: addresses.jobMarket, abi: jobMarketAbi, ...range })),
            ...(await publicClient.getContractEvents({ address: addresses.disputeManager, abi: disputeManagerAbi, ...range })),
            ...(await publicClient.getContractEvents({ address: addresses.auditManager, abi: auditManagerAbi, ...range })),
          ];
          for (const e of logs) {
            const args: Readonly<Record<string, unknown>> = e.args;
            if (args.jobId !== jobId) continue;
            events.push(e.eventName);
            log(`  ${e.eventName} ${JSON.stringify(args, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
          }
          fromBlock = toBlock + 1n;
        }
        // Read at the block the events were read to: a newer status would end the loop before its event is shown.
        const j = await jobMarket.read.getJob([jobId], { blockNumber: toBlock });
        const status = jobStatusName(j.status);
        if (SETTLED.includes(j.status)) return { status, events };
        if (Date.now() > deadline) return { status, events };
        await new Promise((r) => setTimeout(r, p.pollMs ?? 1000));
      }
    }
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const deployment = exampleDeployment(process.env);
  const r = await runViemExample({
    transport: http(exampleRpcUrl(process.env)),
    deployment,
    privateKey: (process.env.REQUESTER_KEY ?? HARDHAT_ACCOUNT_1) as Hex,
    totalSteps: process.env.STEPS ? Number(process.env.STEPS) : undefined,
    checkpointInterval: process.env.K ? Number(process.env.K) : undefined,
    cancel: process.env.CANCEL === "1",
  });
  console.log(`job ${r.jobId} ended ${r.status}`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
