/**
 * Smoke tests of the integrator examples against the in-process network: a fresh deployment
 * registry, the example creates a real job (artifacts served over HTTP), cancels it and follows
 * it to its end through the events.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { custom, type Hex } from "viem";
import { runDeploy } from "../../scripts/lib/deployCommand";
import { hardhatAccountKey } from "../../scripts/lib/demo/accounts";
import { connectDeployment, type Deployment } from "../../verifier/chain/registry";
import { runViemExample } from "../../examples/createJobViem";
import { runEthersExample } from "../../examples/createJobEthers";

describe("integrator examples", function () {
  let dir: string;
  let deployment: Deployment;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-examples-"));
    const [signer] = await ethers.getSigners();
    ({ deployment } = await runDeploy({
      signer, network: "hardhat", outDir: dir, configFile: path.join(__dirname, "..", "..", "deployments", "config", "hardhat.json"),
    }));
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("viem: creates a job with getContract and the registry ABI, and follows it to Cancelled", async function () {
    const requester = hardhatAccountKey(hre, 1);
    const lines: string[] = [];
    const r = await runViemExample({
      transport: custom(hre.network.provider), deployment, privateKey: requester.privateKey as Hex, cancel: true, pollMs: 50, timeoutMs: 30_000,
      log: (l) => lines.push(l),
    });
    expect(r.status).to.equal("Cancelled");
    expect(r.events).to.deep.equal(["JobCreated", "JobCancelled"]);
    const c = connectDeployment(deployment, ethers.provider);
    const job = await c.jobMarket.getJob(r.jobId);
    expect(job.requester).to.equal(requester.address);
    expect(job.status).to.equal(6n);
    expect(job.totalSteps).to.equal(8n);
    expect(lines[0]).to.match(new RegExp(`^job ${r.jobId} created`));
  });

  it("ethers: creates a job with the typechain contracts, follows it to Cancelled and withdraws the refund", async function () {
    const [, requester] = await ethers.getSigners();
    const c = connectDeployment(deployment, ethers.provider);
    const pay = deployment.contracts.PaymentToken!.address;
    const r = await runEthersExample({ deployment, signer: requester, cancel: true, pollMs: 50, timeoutMs: 30_000, log: () => undefined });
    expect(r.status).to.equal("Cancelled");
    expect(r.events).to.deep.equal(["JobCancelled"]);
    const job = await c.jobMarket.getJob(r.jobId);
    expect(job.requester).to.equal(requester.address);
    expect(await c.jobMarket.credits(pay, requester.address)).to.equal(0n);
  });
});
