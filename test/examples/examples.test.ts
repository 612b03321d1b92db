/**
 * Smoke tests of the integrator examples: against the in-process network (a fresh deployment
 * registry, the example creates a real job, artifacts served over HTTP, cancels it and follows it
 * to its end through the events), and the ethers example as the README runs it: a separate
 * process against a `hardhat node` child process (issue 15: its nonces clashed over JSON-RPC).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { custom, type Hex } from "viem";
import { BrowserProvider, JsonRpcProvider, Wallet, type Provider } from "ethers";
import { TestToken__factory } from "../../typechain-types";
import { runDeploy } from "../../scripts/lib/deployCommand";
import { hardhatAccountKey } from "../../scripts/lib/demo/accounts";
import { connectDeployment, type Deployment } from "../../verifier/chain/registry";
import { JobStatus } from "../../verifier/protocol/enums";
import { runViemExample } from "../../examples/createJobViem";
import { ExampleStepError, HARDHAT_ACCOUNT_1, runEthersExample } from "../../examples/createJobEthers";
import { hardhatCli, startHardhatNode } from "../helpers/hardhatNode";

const ROOT = path.join(__dirname, "..", "..");

describe("integrator examples", function () {
  let dir: string;
  let deployment: Deployment;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-examples-"));
    const [signer] = await ethers.getSigners();
    ({ deployment } = await runDeploy({
      signer,
      network: "hardhat",
      outDir: dir,
      configFile: path.join(__dirname, "..", "..", "deployments", "config", "hardhat.json"),
    }));
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("viem: creates a job with getContract and the SDK's typed ABIs, and follows it to Cancelled", async function () {
    const requester = hardhatAccountKey(hre, 1);
    const lines: string[] = [];
    const r = await runViemExample({
      transport: custom(hre.network.provider),
      deployment,
      privateKey: requester.privateKey as Hex,
      cancel: true,
      pollMs: 50,
      timeoutMs: 30_000,
      log: (l) => lines.push(l),
    });
    expect(r.status).to.equal("Cancelled");
    expect(r.events).to.deep.equal(["JobCreated", "JobCancelled"]);
    const c = connectDeployment(deployment, ethers.provider);
    const job = await c.jobMarket.getJob(r.jobId);
    expect(job.requester).to.equal(requester.address);
    expect(job.status).to.equal(JobStatus.Cancelled);
    expect(job.totalSteps).to.equal(8n);
    expect(lines[0]).to.match(new RegExp(`^job ${r.jobId} created`));
  });

  it("ethers: creates a job with the SDK's createJob, follows it to Cancelled with waitForFinal and withdraws the refund", async function () {
    const [, requester] = await ethers.getSigners();
    const c = connectDeployment(deployment, ethers.provider);
    const pay = deployment.contracts.PaymentToken!.address;
    const r = await runEthersExample({ deployment, signer: requester, cancel: true, pollMs: 50, timeoutMs: 30_000, log: () => undefined });
    expect(r.status).to.equal("Cancelled");
    expect(r.events).to.deep.equal(["JobCreated", "JobCancelled"]);
    const job = await c.jobMarket.getJob(r.jobId);
    expect(job.requester).to.equal(requester.address);
    expect(await c.jobMarket.credits(pay, requester.address)).to.equal(0n);
  });

  it("ethers: after the SDK's createJob the next send follows the SDK's last nonce, though the provider cached the pending count from before it", async function () {
    const requester = hardhatAccountKey(hre, 5);
    // ethers caches identical calls (250 ms by default; 5 s here, so that the race always shows): the
    // pending count read after createJob came from before its approve and createJob (CI: cancelJob's
    // "nonce has already been used").
    const provider = new BrowserProvider(hre.network.provider, undefined, { cacheTimeout: 5_000 });
    const signer = new Wallet(requester.privateKey, provider) as unknown as Wallet & { provider: Provider };
    // Holding the escrow already, the example mints nothing: the first pending read is the SDK's.
    const [admin] = await ethers.getSigners();
    await TestToken__factory.connect(deployment.contracts.PaymentToken!.address, admin).mint(requester.address, 110n * 10n ** 18n);
    const r = await runEthersExample({ deployment, signer, cancel: true, pollMs: 50, timeoutMs: 60_000, log: () => undefined });
    expect(r.status).to.equal("Cancelled");
    const job = await connectDeployment(deployment, ethers.provider).jobMarket.getJob(r.jobId);
    expect([job.requester, job.status]).to.deep.equal([requester.address, BigInt(JobStatus.Cancelled)]);
  });

  it('ethers: a failed step is named (a requester without ETH: "mint payment tokens failed: …")', async function () {
    const broke = Wallet.createRandom().connect(ethers.provider) as unknown as Wallet & { provider: Provider };
    try {
      await runEthersExample({ deployment, signer: broke, cancel: true, pollMs: 50, timeoutMs: 30_000, log: () => undefined });
      expect.fail("a requester without ETH cannot send");
    } catch (e) {
      expect(e).to.be.instanceOf(ExampleStepError);
      expect((e as ExampleStepError).step).to.equal("mint payment tokens");
      expect((e as Error).message).to.match(/^mint payment tokens failed: .*(insufficient funds|balance)/i);
    }
  });

  describe("as the README runs it: a separate process against a `hardhat node` child process", function () {
    it("ethers: creates a job to Open, cancels it to Cancelled and withdraws, with no nonce clash", async function () {
      const node = await startHardhatNode();
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "upow-examples-node-"));
      const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        hardhatCli(
          [
            "upow:deploy",
            "--network",
            "localhost",
            "--out",
            out,
            "--deploy-config",
            path.join(ROOT, "deployments", "config", "localhost.json"),
          ],
          { LOCALHOST_RPC_URL: node.url },
        );
        const file = path.join(out, "localhost.json");
        const r = spawnSync(
          process.execPath,
          [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(ROOT, "examples", "createJobEthers.ts")],
          {
            cwd: ROOT,
            encoding: "utf8",
            timeout: 300_000,
            env: { ...process.env, UPOW_RPC_URLS: node.url, UPOW_DEPLOYMENTS: file, CANCEL: "1" },
          },
        );
        expect(r.stderr, r.stdout).not.to.match(/nonce/i);
        expect(r.status, `${r.stderr}${r.stdout}`).to.equal(0);
        const created = /job (\d+) created in block (\d+)/.exec(r.stdout);
        expect(created, r.stdout).not.to.equal(null);
        expect(r.stdout).to.match(/JobCancelled/);
        expect(r.stdout).to.match(new RegExp(`job ${created![1]} ended Cancelled`));
        const d = JSON.parse(fs.readFileSync(file, "utf8")) as Deployment;
        const c = connectDeployment(d, provider);
        const jobId = BigInt(created![1]!);
        // Open right after creation (read at its block), Cancelled now, the refund withdrawn.
        expect((await c.jobMarket.getJob(jobId, { blockTag: Number(created![2]) })).status).to.equal(JobStatus.Open);
        const job = await c.jobMarket.getJob(jobId);
        expect(job.status).to.equal(JobStatus.Cancelled);
        const requester = new Wallet(HARDHAT_ACCOUNT_1).address;
        expect(job.requester).to.equal(requester);
        expect(await c.jobMarket.credits(d.contracts.PaymentToken!.address, requester)).to.equal(0n);
      } finally {
        provider.destroy();
        await node.stop();
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  });
});
