/**
 * `bin/upow.js status` and `withdraw` as an operator runs them: child processes against a
 * `npx hardhat node` child (the in-process network is not reachable from another process),
 * deployed with the same deploy command as scripts/deploy.ts.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { JsonRpcProvider, parseUnits, type Signer } from "ethers";
import { runDeploy } from "../../../scripts/lib/deployCommand";
import { hardhatAccountKey } from "../../../scripts/lib/demo/accounts";
import { writeKeystore } from "../../../verifier/chain/keys";
import { connectDeployment, type Deployment } from "../../../verifier/chain/registry";
import { TestToken__factory } from "../../../typechain-types";
import { DATA, TRAJ, STATE_BYTES } from "../../helpers/system";
import { startHardhatNode, type HardhatNodeProcess } from "../../helpers/hardhatNode";

const ROOT = path.join(__dirname, "..", "..", "..");
const UPOW = path.join(ROOT, "bin", "upow.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function upow(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [UPOW, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, UPOW_PRIVATE_KEY: "", UPOW_DEPLOYMENTS: "", UPOW_RPC_URLS: "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("upow status / withdraw (CLI against a hardhat node)", function () {
  this.timeout(300_000);
  let node: HardhatNodeProcess | undefined;
  let dir: string;
  let url: string;
  let file: string;
  let deployment: Deployment;
  let provider: JsonRpcProvider;
  const requester = hardhatAccountKey(hre, 1);
  const staker = hardhatAccountKey(hre, 2);

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-status-cli-"));
    node = await startHardhatNode();
    url = node.url;
    provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100 });
    const admin = await provider.getSigner(0);
    ({ deployment, file } = await runDeploy({
      signer: admin,
      network: "localhost",
      outDir: dir,
      configFile: path.join(ROOT, "deployments", "config", "localhost.json"),
    }));

    // Account #2 stakes 300 tokens; account #1 creates a job and cancels it (110 UPAY refund credit).
    const s2: Signer = await provider.getSigner(2);
    const c2 = connectDeployment(deployment, s2);
    const stk = TestToken__factory.connect(deployment.contracts.StakingToken.address, s2);
    await (await stk.mint(staker.address, parseUnits("300", 18))).wait();
    await (await stk.approve(await c2.stakeManager.getAddress(), parseUnits("300", 18))).wait();
    await (await c2.stakeManager.stake(parseUnits("300", 18))).wait();

    const s1 = await provider.getSigner(1);
    const c1 = connectDeployment(deployment, s1);
    const pay = TestToken__factory.connect(deployment.contracts.PaymentToken!.address, s1);
    const reward = parseUnits("100", 18);
    const fee = parseUnits("10", 18);
    await (await pay.mint(requester.address, reward + fee)).wait();
    await (await pay.approve(await c1.jobMarket.getAddress(), reward + fee)).wait();
    const now = BigInt((await provider.getBlock("latest"))!.timestamp);
    const jobId = await c1.jobMarket.nextJobId();
    await (
      await c1.jobMarket.createJob({
        paymentToken: await pay.getAddress(),
        reward,
        verificationFee: fee,
        collateral: await c1.jobMarket.requiredCollateral(reward),
        totalSteps: 8,
        checkpointInterval: 2,
        numBatches: DATA.batches.length,
        flopsPerStep: 1_000_000_000n,
        stateBytes: BigInt(STATE_BYTES),
        initialStateHash: TRAJ.stateHashes[0],
        dataRoot: DATA.root,
        specHash: hre.ethers.id("spec"),
        specURI: "ipfs://spec",
        claimDeadline: now + 86_400n,
        trainingDuration: 3_600n,
      })
    ).wait();
    await (await c1.jobMarket.cancelJob(jobId)).wait();
  });

  after(async function () {
    provider?.destroy();
    await node?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("status --json: the cancelled job by name, the refund with units, the stake of another account", async function () {
    const r = await upow(["status", "--json", "--account", requester.address, "--deployments", file, "--rpc-url", url]);
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout) as {
      account: string;
      jobs: { status: string; roles: string[] }[];
      credits: { ledger: string; amount: { raw: string; text: string } }[];
    };
    expect(s.account).to.equal(requester.address);
    expect(s.jobs.map((j) => [j.status, j.roles])).to.deep.equal([["Cancelled", ["requester"]]]);
    const owed = s.credits.filter((c) => c.amount.raw !== "0");
    expect(owed.map((c) => [c.ledger, c.amount.text, c.amount.raw])).to.deep.equal([
      ["job-market", "110 UPAY", (110n * 10n ** 18n).toString()],
    ]);

    const r2 = await upow(["status", "--json", "--account", staker.address], { UPOW_DEPLOYMENTS: file, UPOW_RPC_URLS: url });
    expect(r2.code, r2.stderr).to.equal(0);
    expect((JSON.parse(r2.stdout) as { stake: { free: { text: string } } }).stake.free.text).to.equal("300 USTK");
  });

  it("status with --keystore reads the account from the keystore without its password; text output names things", async function () {
    const ks = path.join(dir, "requester.json");
    await writeKeystore({ privateKey: requester.privateKey, password: "pw", path: ks, scryptN: 1024 });
    const r = await upow(["status", "--keystore", ks, "--deployments", file, "--rpc-url", url]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`account ${requester.address}`);
    expect(r.stdout).to.match(/#\d+\s+Cancelled\s+as requester/);
    expect(r.stdout).to.match(/job-market\s+110 UPAY/);
  });

  it("withdraw pays the refund and prints it; a second withdraw pays nothing", async function () {
    const env = { UPOW_PRIVATE_KEY: requester.privateKey, UPOW_DEPLOYMENTS: file, UPOW_RPC_URLS: url };
    const pay = TestToken__factory.connect(deployment.contracts.PaymentToken!.address, provider);
    const before = await pay.balanceOf(requester.address);
    const r = await upow(["withdraw"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/job-market\s+110 UPAY\s+\(tx 0x[0-9a-f]{64}\)/);
    expect((await pay.balanceOf(requester.address)) - before).to.equal(110n * 10n ** 18n);
    const again = await upow(["--json", "withdraw"], env);
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout)).to.deep.equal({ account: requester.address, paid: [] });
  });

  it("names what is missing: no deployment, no account, a deployment of another chain", async function () {
    const noDep = await upow(["status", "--account", requester.address, "--rpc-url", url]);
    expect(noDep.code).to.equal(1);
    expect(noDep.stderr).to.contain("--deployments");
    const noAcct = await upow(["status", "--deployments", file, "--rpc-url", url]);
    expect(noAcct.code).to.equal(1);
    expect(noAcct.stderr).to.contain("--account");
    const other = path.join(dir, "other.json");
    fs.writeFileSync(other, JSON.stringify({ ...deployment, chainId: 1 }));
    const wrong = await upow(["status", "--account", requester.address, "--deployments", other, "--rpc-url", url]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain("DeploymentChainMismatchError");
  });
});
