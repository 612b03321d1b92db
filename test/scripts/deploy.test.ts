import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { runDeploy } from "../../scripts/lib/deployCommand";
import { ChainIdMismatchError, DeployConfigError, DeploymentExistsError, GovernanceError } from "../../scripts/lib/errors";
import { changeRole, parseParamValue, readParams, setParam } from "../../scripts/lib/governance";
import { defaultParams, parseDeployConfig } from "../../scripts/lib/params";
import {
  CONTRACT_KEYS,
  DeploymentChainMismatchError,
  DeploymentInvalidError,
  DeploymentNotFoundError,
  assertChainId,
  connectDeployment,
  loadDeployment,
  type Deployment,
} from "../../verifier/chain/registry";
import { TestToken__factory } from "../../typechain-types";

/** Awaits `p` and checks it rejects with `type` (and a message matching `pattern`). */
async function rejects(p: Promise<unknown>, type: new (...args: never[]) => Error, pattern?: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(type);
    if (pattern) expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a ${type.name}`);
}

const CONFIG = path.join(__dirname, "..", "..", "deployments", "config", "hardhat.json");

describe("scripts/deploy", function () {
  let dir: string;
  let deployment: Deployment;
  let file: string;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-deploy-"));
    const [signer] = await ethers.getSigners();
    ({ deployment, file } = await runDeploy({ signer, network: hre.network.name, configFile: CONFIG, outDir: dir }));
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("when deploying to the in-process network", function () {
    it("writes a registry with chainId, every contract's address, block, tx hash, ABI, params and git commit", async function () {
      const onDisk = loadDeployment({ network: hre.network.name, dir });
      expect(onDisk).to.deep.equal(JSON.parse(fs.readFileSync(file, "utf8")));
      expect(onDisk.chainId).to.equal(31337);
      expect(onDisk.gitCommit).to.match(/^([0-9a-f]{40}(-dirty)?|unknown)$/);
      expect(Object.keys(onDisk.contracts).sort()).to.deep.equal([...CONTRACT_KEYS].sort());
      expect(onDisk.params.unbondingPeriod).to.equal(86_400);
      expect((onDisk.params.jobMarket as { challengeWindow: number }).challengeWindow).to.equal(3_600);
      for (const key of CONTRACT_KEYS) {
        const c = onDisk.contracts[key]!;
        const receipt = await ethers.provider.getTransactionReceipt(c.txHash!);
        expect(receipt, key).to.not.equal(null);
        expect(receipt!.contractAddress).to.equal(c.address);
        expect(receipt!.blockNumber).to.equal(c.blockNumber);
        expect(Array.isArray(c.abi) && c.abi.length > 0, key).to.equal(true);
      }
    });

    it("puts at each address the code of the named contract", async function () {
      for (const key of CONTRACT_KEYS) {
        const c = deployment.contracts[key]!;
        const code = await ethers.provider.getCode(c.address);
        const artifact = await hre.artifacts.readArtifact(c.contractName);
        // Deployed bytecode minus immutables and library links: compare lengths and the metadata tail.
        expect(code.length, key).to.equal(artifact.deployedBytecode.length);
        expect(code.slice(-100), key).to.equal(artifact.deployedBytecode.slice(-100));
      }
    });

    it("wires the roles, the audit manager and the payment token", async function () {
      const [deployer] = await ethers.getSigners();
      const c = connectDeployment(deployment, deployer);
      const d = deployment.contracts;
      const moduleRole = await c.stakeManager.MODULE_ROLE();
      for (const m of [d.JobMarket, d.AuditManager, d.DisputeManager])
        expect(await c.stakeManager.hasRole(moduleRole, m.address)).to.equal(true);
      expect(await c.stakeManager.hasRole(moduleRole, deployer.address)).to.equal(false);
      expect(await c.jobMarket.hasRole(await c.jobMarket.DISPUTE_ROLE(), d.DisputeManager.address)).to.equal(true);
      expect(await c.jobMarket.auditManager()).to.equal(d.AuditManager.address);
      expect(await c.auditManager.canaryRegistry()).to.equal(d.CanaryRegistry!.address);
      expect(await c.canaryRegistry.hasRole(await c.canaryRegistry.CANARY_ROLE(), deployer.address)).to.equal(true);
      expect(await c.jobMarket.tokenAllowed(d.PaymentToken!.address)).to.equal(true);
      expect(await c.stakeManager.stakingToken()).to.equal(d.StakingToken.address);
      expect(await c.disputeManager.stakingToken()).to.equal(d.StakingToken.address);
      expect(await c.jobMarket.randomness()).to.equal(d.Randomness.address);
      expect(await c.jobMarket.challengeWindow()).to.equal(3_600n);
      for (const x of [c.stakeManager, c.jobMarket, c.auditManager, c.disputeManager]) {
        expect(await x.hasRole(await x.GOVERNOR_ROLE(), deployer.address)).to.equal(true);
      }
      expect((await c.disputeManager.params()).committeeSize).to.equal(3n);
    });

    it("a second deploy without force refuses and leaves the file as it was", async function () {
      const before = fs.readFileSync(file, "utf8");
      const [signer] = await ethers.getSigners();
      await rejects(runDeploy({ signer, network: hre.network.name, configFile: CONFIG, outDir: dir }), DeploymentExistsError);
      expect(fs.readFileSync(file, "utf8")).to.equal(before);
    });

    it("with force deploys again to new addresses", async function () {
      const [signer] = await ethers.getSigners();
      const other = fs.mkdtempSync(path.join(os.tmpdir(), "upow-deploy-"));
      try {
        const first = await runDeploy({ signer, network: hre.network.name, configFile: CONFIG, outDir: other });
        const second = await runDeploy({ signer, network: hre.network.name, configFile: CONFIG, outDir: other, force: true });
        expect(second.deployment.contracts.JobMarket.address).to.not.equal(first.deployment.contracts.JobMarket.address);
        expect(loadDeployment({ network: hre.network.name, dir: other }).contracts.JobMarket.address).to.equal(
          second.deployment.contracts.JobMarket.address,
        );
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });

    it("refuses a config for another chain id", async function () {
      const cfg = path.join(dir, "other-chain.json");
      fs.writeFileSync(cfg, JSON.stringify({ chainId: 1, testTokens: true }));
      const [signer] = await ethers.getSigners();
      await rejects(runDeploy({ signer, network: "other", configFile: cfg, outDir: dir }), ChainIdMismatchError);
      expect(fs.existsSync(path.join(dir, "other.json"))).to.equal(false);
    });

    it("assertChainId refuses a deployment of another chain", async function () {
      await assertChainId(deployment, ethers.provider);
      await rejects(assertChainId({ ...deployment, chainId: 5 }, ethers.provider), DeploymentChainMismatchError);
    });
  });

  describe("when governing after deployment", function () {
    it("upow:set-param changes a parameter through the task and emits the contract's event", async function () {
      const [deployer] = await ethers.getSigners();
      const c = connectDeployment(deployment, deployer);
      await hre.run("upow:set-param", { name: "JobMarket.challengeWindow", value: "7200", decimals: 18, dir });
      expect(await c.jobMarket.challengeWindow()).to.equal(7_200n);
      const r = await setParam(c, "DisputeManager.disputeBond", "150");
      expect(r.before).to.equal(100n * 10n ** 18n);
      expect(r.after).to.equal(150n * 10n ** 18n);
      expect((await c.disputeManager.params()).disputeBond).to.equal(150n * 10n ** 18n);
      // Changing one field of a grouped setter keeps the others.
      const samples = await c.jobMarket.samplesPerAuditor();
      await setParam(c, "JobMarket.auditorsPerJob", "6");
      expect(await c.jobMarket.auditorsPerJob()).to.equal(6n);
      expect(await c.jobMarket.samplesPerAuditor()).to.equal(samples);
      const all = await readParams(c);
      expect(all["JobMarket.challengeWindow"]).to.equal(7_200n);
      expect(all["StakeManager.minJurorStake"]).to.equal(100n * 10n ** 18n);
    });

    it("a value out of the contract's bounds reverts with its custom error", async function () {
      const [deployer] = await ethers.getSigners();
      const c = connectDeployment(deployment, deployer);
      await expect(setParam(c, "JobMarket.challengeWindow", "1"))
        .to.be.revertedWithCustomError(c.jobMarket, "JobMarketInvalidChallengeWindow")
        .withArgs(1);
    });

    it("upow:grant-role grants a role (by contract key or address) and upow:revoke-role takes it back", async function () {
      const [deployer, , , , , stranger] = await ethers.getSigners();
      const c = connectDeployment(deployment, deployer);
      const governor = await c.jobMarket.GOVERNOR_ROLE();
      expect(await c.jobMarket.hasRole(governor, stranger.address)).to.equal(false);
      await hre.run("upow:grant-role", { contract: "JobMarket", role: "GOVERNOR_ROLE", account: stranger.address, dir });
      expect(await c.jobMarket.hasRole(governor, stranger.address)).to.equal(true);
      // The new governor can govern.
      await c.jobMarket.connect(stranger).setChallengeWindow(3_600);
      await hre.run("upow:revoke-role", { contract: "JobMarket", role: "GOVERNOR_ROLE", account: stranger.address, dir });
      expect(await c.jobMarket.hasRole(governor, stranger.address)).to.equal(false);
      const r = await changeRole(c, deployment, "CanaryRegistry", "CANARY_ROLE", "JobMarket");
      expect(r.account).to.equal(deployment.contracts.JobMarket.address);
      expect(r.hasRole).to.equal(true);
      const again = await changeRole(c, deployment, "CanaryRegistry", "CANARY_ROLE", "JobMarket");
      expect(again.txHash).to.equal(null);
    });

    it("upow:post-canaries commits an epoch's canaries and writes proofs that verify against the posted root", async function () {
      const [deployer] = await ethers.getSigners();
      const c = connectDeployment(deployment, deployer);
      const file = path.join(dir, "canaries.json");
      const out = path.join(dir, "canary-proofs.json");
      const canaries = [
        { specHash: ethers.id("spec-a"), faultSteps: [4, 9], salt: ethers.id("salt-a") },
        { specHash: ethers.id("spec-b"), faultSteps: [], salt: ethers.id("salt-b") },
      ];
      fs.writeFileSync(file, JSON.stringify(canaries));
      await hre.run("upow:post-canaries", { file, out, dir });
      const written = JSON.parse(fs.readFileSync(out, "utf8")) as {
        epoch: string;
        root: string;
        canaries: { specHash: string; faultSteps: string[]; salt: string; proof: string[] }[];
      };
      const epoch = BigInt(written.epoch);
      expect(epoch).to.equal((await c.canaryRegistry.currentEpoch()) + 1n);
      expect(await c.canaryRegistry.rootOf(epoch)).to.equal(written.root);
      const inEpoch = (await c.canaryRegistry.genesis()) + epoch * (await c.canaryRegistry.epochLength());
      for (const x of written.canaries) {
        expect(await c.canaryRegistry.verifyCanary(inEpoch, x.specHash, x.faultSteps.map(BigInt), x.salt, x.proof)).to.equal(true);
      }
    });

    it("upow:stake mints test tokens and stakes from a node account", async function () {
      const signers = await ethers.getSigners();
      const c = connectDeployment(deployment, signers[0]);
      await hre.run("upow:stake", { index: 7, amount: "250", mint: true, dir });
      expect((await c.stakeManager.account(signers[7].address)).free).to.equal(250n * 10n ** 18n);
    });

    it("names unknown parameters, roles, contracts and bad values", async function () {
      const [deployer] = await ethers.getSigners();
      const c = connectDeployment(deployment, deployer);
      expect(() => parseParamValue("JobMarket.nope", "1")).to.throw(GovernanceError, /unknown parameter JobMarket.nope/);
      expect(() => parseParamValue("JobMarket.challengeWindow", "-1")).to.throw(GovernanceError, /non-negative integer/);
      expect(() => parseParamValue("DisputeManager.disputeBond", "1e18")).to.throw(GovernanceError, /whole tokens/);
      await rejects(changeRole(c, deployment, "JobMarket", "MODULE_ROLE", deployer.address), GovernanceError, /no role MODULE_ROLE/);
      await rejects(changeRole(c, deployment, "Nope", "GOVERNOR_ROLE", deployer.address), GovernanceError, /unknown contract/);
      await rejects(changeRole(c, deployment, "JobMarket", "GOVERNOR_ROLE", "Nobody"), GovernanceError, /neither an address/);
    });
  });

  describe("when the config or the registry is bad", function () {
    it("parses amounts in whole tokens onto the defaults", function () {
      const p = parseDeployConfig({ testTokens: true, minJurorStake: "2.5", dispute: { quorum: 1 }, governor: null });
      expect(p.minJurorStake).to.equal(25n * 10n ** 17n);
      expect(p.dispute.quorum).to.equal(1);
      expect(p.dispute.committeeSize).to.equal(defaultParams().dispute.committeeSize);
      expect(p.governor).to.equal(undefined);
    });

    for (const [name, cfg, pattern] of [
      ["an unknown key", { testTokens: true, nope: 1 }, /unknown key nope/],
      ["an unknown section key", { testTokens: true, dispute: { nope: 1 } }, /unknown key dispute.nope/],
      ["a numeric amount", { testTokens: true, minJurorStake: 100 }, /minJurorStake must be a decimal string/],
      ["a negative integer", { testTokens: true, unbondingPeriod: -1 }, /unbondingPeriod must be a non-negative integer/],
      ["a bad address", { stakingToken: "0x123" }, /stakingToken is not a valid address/],
      ["no staking token", {}, /stakingToken is required/],
      ["renounce without governor", { testTokens: true, renounceDeployer: true }, /renounceDeployer needs a governor/],
      ["not an object", [], /must be a JSON object/],
    ] as const) {
      it(`names ${name}`, function () {
        expect(() => parseDeployConfig(cfg)).to.throw(DeployConfigError, pattern);
      });
    }

    it("names a missing config file", async function () {
      const [signer] = await ethers.getSigners();
      await rejects(
        runDeploy({ signer, network: "nowhere", configFile: path.join(dir, "missing.json"), outDir: dir }),
        DeployConfigError,
        /no config file/,
      );
    });

    it("names a missing or malformed registry", function () {
      expect(() => loadDeployment({ network: "nowhere", dir })).to.throw(DeploymentNotFoundError);
      const bad = path.join(dir, "bad.json");
      fs.writeFileSync(bad, JSON.stringify({ ...deployment, contracts: { ...deployment.contracts, JobMarket: undefined } }));
      expect(() => loadDeployment({ file: bad })).to.throw(DeploymentInvalidError, /contracts.JobMarket is missing/);
      fs.writeFileSync(bad, "{");
      expect(() => loadDeployment({ file: bad })).to.throw(DeploymentInvalidError, /not JSON/);
    });
  });

  describe("when a governor takes over", function () {
    it("grants the governor every admin role and the deployer renounces its own", async function () {
      const [deployer, , , , , , governor] = await ethers.getSigners();
      const p = parseDeployConfig({ testTokens: true, governor: governor.address, renounceDeployer: true });
      const { deployUPow } = await import("../../scripts/lib/deploy");
      const r = await deployUPow(deployer, p);
      for (const x of [r.stakeManager, r.jobMarket, r.auditManager, r.disputeManager]) {
        for (const role of [await x.DEFAULT_ADMIN_ROLE(), await x.GOVERNOR_ROLE()]) {
          expect(await x.hasRole(role, governor.address)).to.equal(true);
          expect(await x.hasRole(role, deployer.address)).to.equal(false);
        }
      }
      for (const role of [await r.canaryRegistry.DEFAULT_ADMIN_ROLE(), await r.canaryRegistry.CANARY_ROLE()]) {
        expect(await r.canaryRegistry.hasRole(role, governor.address)).to.equal(true);
        expect(await r.canaryRegistry.hasRole(role, deployer.address)).to.equal(false);
      }
      await expect(r.jobMarket.setChallengeWindow(3_600)).to.be.revertedWithCustomError(r.jobMarket, "AccessControlUnauthorizedAccount");
      // Test tokens stay mintable for the demo; the registry names them.
      const token = TestToken__factory.connect(r.contracts.StakingToken!.address, deployer);
      await token.mint(deployer.address, 1n);
    });
  });
});
