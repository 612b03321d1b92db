import { expect } from "chai";
import { execFile } from "node:child_process";
import path from "node:path";
import { network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StakeManager__factory } from "../../../typechain-types";
import { checkDeployment, DeploymentCheckError } from "../../../verifier/chain/deploymentCheck";
import { startRpcProxy } from "../../../verifier/chain/rpc-proxy";
import { createProvider, type Eip1193Provider } from "../../../verifier/chain/rpc";
import { resolveVerifierConfig } from "../../../verifier/daemon/config";
import { runVerifier } from "../../../verifier/daemon/service";
import { deploySystem, type System } from "../../helpers/system";
import { accountKey, CHALLENGER_ACCOUNT, startWorker } from "../daemon/harness";
import { captureLogger, inProcessProvider, tempDir } from "./helpers";

async function addressesOf(sys: System) {
  return {
    JobMarket: await sys.jobMarket.getAddress(),
    AuditManager: await sys.auditManager.getAddress(),
    DisputeManager: await sys.disputeManager.getAddress(),
    StakeManager: await sys.stakeManager.getAddress(),
  };
}

async function failure(p: Promise<unknown>): Promise<DeploymentCheckError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(DeploymentCheckError);
  return err as DeploymentCheckError;
}

describe("chain/deploymentCheck", function () {
  this.timeout(120_000);
  const log = captureLogger();
  const provider = inProcessProvider(log.logger);
  after(() => provider.destroy());

  it("passes for a consistent deployment on the expected chain", async function () {
    const sys = await loadFixture(deploySystem);
    await checkDeployment({ provider, addresses: await addressesOf(sys), expectedChainId: 31337 });
  });

  it("a token instead of the JobMarket: says it is an ERC20 and which symbol", async function () {
    const sys = await loadFixture(deploySystem);
    const token = await sys.stakeToken.getAddress();
    const e = await failure(checkDeployment({ provider, addresses: { ...(await addressesOf(sys)), JobMarket: token } }));
    expect(e.shortMessage).to.equal(
      `the JobMarket address ${token} is not a JobMarket: it is an ERC20 token (symbol ${await sys.stakeToken.symbol()})`,
    );
  });

  it("an address without code: says so", async function () {
    const sys = await loadFixture(deploySystem);
    const nothing = "0x000000000000000000000000000000000000dEaD";
    const e = await failure(checkDeployment({ provider, addresses: { ...(await addressesOf(sys)), AuditManager: nothing } }));
    expect(e.shortMessage).to.match(/^the AuditManager address 0x0+dEaD is not a AuditManager: no contract code there/);
  });

  it("two addresses swapped: names the contract that is there", async function () {
    const sys = await loadFixture(deploySystem);
    const a = await addressesOf(sys);
    const e = await failure(checkDeployment({ provider, addresses: { ...a, JobMarket: a.DisputeManager, DisputeManager: a.JobMarket } }));
    expect(e.shortMessage).to.equal(`the JobMarket address ${a.DisputeManager} is not a JobMarket: it is the DisputeManager`);
  });

  it("a StakeManager of another deployment: wrong wiring", async function () {
    const sys = await loadFixture(deploySystem);
    const sm = sys.stakeManager;
    const other = await new StakeManager__factory(sys.admin).deploy(
      await sys.stakeToken.getAddress(),
      sys.admin.address,
      await sm.unbondingPeriod(),
      await sm.minJurorStake(),
      await sm.epochLength(),
      await sm.drawWindow(),
    );
    const a = await addressesOf(sys);
    const e = await failure(checkDeployment({ provider, addresses: { ...a, StakeManager: await other.getAddress() } }));
    expect(e.shortMessage).to.match(
      /^wrong wiring: JobMarket 0x[0-9a-fA-F]{40} uses StakeManager 0x[0-9a-fA-F]{40}, but this daemon was given StakeManager /,
    );
  });

  it("a deployments file of another chain", async function () {
    const sys = await loadFixture(deploySystem);
    const e = await failure(checkDeployment({ provider, addresses: await addressesOf(sys), expectedChainId: 1 }));
    expect(e.shortMessage).to.equal("the RPC is on chain 31337, the deployments file on chain 1: wrong --rpc-url or --deployments");
  });

  describe("the verifier pointed at the token instead of the JobMarket", function () {
    it("in process: runVerifier rejects with DeploymentCheckError at once (no retry loop)", async function () {
      const sys = await loadFixture(deploySystem);
      const a = await addressesOf(sys);
      const config = resolveVerifierConfig({
        eip1193: network.provider as unknown as Eip1193Provider,
        jobMarket: await sys.stakeToken.getAddress(),
        auditManager: a.AuditManager,
        disputeManager: a.DisputeManager,
        dataDir: tempDir("upow-depcheck-"),
        logLevel: "silent",
        env: { UPOW_PRIVATE_KEY: accountKey(CHALLENGER_ACCOUNT) },
      });
      const e = await failure(runVerifier(config, { signal: new AbortController().signal, logger: log.logger }));
      expect(e.shortMessage).to.match(/is not a JobMarket: it is an ERC20 token/);
    });

    it("as a child process of bin/upow.js: exit code 1 and one clear line on stderr, no stack trace", async function () {
      const sys = await loadFixture(deploySystem);
      const a = await addressesOf(sys);
      const token = await sys.stakeToken.getAddress();
      const proxy = await startRpcProxy({ upstream: network.provider as unknown as Eip1193Provider });
      try {
        const bin = path.join(__dirname, "..", "..", "..", "bin", "upow.js");
        const args = [
          bin,
          "verifier",
          "start",
          "--rpc-url",
          proxy.url,
          "--job-market",
          token,
          "--audit-manager",
          a.AuditManager,
          "--dispute-manager",
          a.DisputeManager,
          "--data-dir",
          tempDir("upow-depcheck-cli-"),
          "--log-level",
          "silent",
        ];
        const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = execFile(
            process.execPath,
            args,
            { env: { ...process.env, UPOW_PRIVATE_KEY: accountKey(CHALLENGER_ACCOUNT) }, timeout: 90_000 },
            (_err, _out, err) => resolve({ code: child.exitCode, stderr: err }),
          );
        });
        expect(code, stderr).to.equal(1);
        expect(stderr).to.include(
          `error: DeploymentCheckError: the JobMarket address ${token} is not a JobMarket: it is an ERC20 token (symbol ${await sys.stakeToken.symbol()})`,
        );
        expect(stderr).not.to.match(/^\s+at /m);
      } finally {
        await proxy.close();
      }
    });
  });

  it("the worker pointed at the token instead of the JobMarket: rejects with DeploymentCheckError", async function () {
    const sys = await loadFixture(deploySystem);
    const token = await sys.payToken.getAddress();
    const r = await startWorker(sys, tempDir("upow-depcheck-worker-"), { jobMarket: token });
    const e = await failure(r.done);
    expect(e.shortMessage).to.equal(
      `the JobMarket address ${token} is not a JobMarket: it is an ERC20 token (symbol ${await sys.payToken.symbol()})`,
    );
  });

  it("leaves RPC failures to the caller's retry (not misreported as a wrong address)", async function () {
    const sys = await loadFixture(deploySystem);
    const proxy = await startRpcProxy({ upstream: network.provider as unknown as Eip1193Provider });
    try {
      proxy.addFault({ fault: { kind: "error", code: -32000, message: "injected" }, methods: ["eth_call"] });
      const flaky = createProvider({ urls: [proxy.url], logger: log.logger, timeoutMs: 2_000, retries: 0 });
      try {
        const err = await checkDeployment({ provider: flaky, addresses: await addressesOf(sys) }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.not.equal(null);
        expect(err).not.to.be.instanceOf(DeploymentCheckError);
      } finally {
        flaky.destroy();
      }
    } finally {
      await proxy.close();
    }
  });
});
