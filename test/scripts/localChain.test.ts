/**
 * The local-chain tooling of the README's separate-process flow (issue 15): `npx hardhat node`
 * mines on an interval, `upow:stake --mint` leaves bond money, `upow:fund` and `upow:dev-key`.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers } from "hardhat";
import { JsonRpcProvider, Wallet, parseEther } from "ethers";
import { runDeploy } from "../../scripts/lib/deployCommand";
import { LocalChainOnlyError, TaskArgumentError, assertLocalChain, blockTimeMs, fund, resolveAccount } from "../../scripts/lib/localChain";
import { connectDeployment, type Deployment } from "../../verifier/chain/registry";
import { hardhatCli, startHardhatNode } from "../helpers/hardhatNode";

const CONFIG = path.join(__dirname, "..", "..", "deployments", "config", "hardhat.json");
const E18 = 10n ** 18n;

async function rejects(p: Promise<unknown>, type: new (...args: never[]) => Error, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(type);
    expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a ${type.name}`);
}

describe("local chain tooling", function () {
  describe("npx hardhat node", function () {
    it("mines blocks on an idle chain (a child process, no transaction sent)", async function () {
      const node = await startHardhatNode({ UPOW_BLOCK_TIME_MS: "500" });
      const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
      try {
        const first = await provider.getBlockNumber();
        let now = first;
        const deadline = Date.now() + 30_000;
        while (now < first + 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          now = await provider.getBlockNumber();
        }
        expect(now).to.be.at.least(first + 2);
        expect(node.output()).to.match(/Mining a block every 500 ms and on each transaction/);
        // Automining stays on: a transaction is mined at once, not at the next interval.
        expect(await provider.send("hardhat_getAutomine", [])).to.equal(true);
      } finally {
        provider.destroy();
        await node.stop();
      }
    });

    it("leaves the in-process network of `hardhat test` without interval mining", async function () {
      const before = await ethers.provider.getBlockNumber();
      await new Promise((r) => setTimeout(r, 1500));
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
    });

    it("reads UPOW_BLOCK_TIME_MS: default 1000, 0 turns interval mining off, garbage is refused", function () {
      expect(blockTimeMs(undefined)).to.equal(1000);
      expect(blockTimeMs("0")).to.equal(0);
      expect(blockTimeMs("250")).to.equal(250);
      expect(() => blockTimeMs("1s")).to.throw(TaskArgumentError, /UPOW_BLOCK_TIME_MS/);
      expect(() => blockTimeMs("-5")).to.throw(TaskArgumentError, /UPOW_BLOCK_TIME_MS/);
    });
  });

  describe("tasks", function () {
    let dir: string;
    let deployment: Deployment;

    before(async function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-local-"));
      const [signer] = await ethers.getSigners();
      ({ deployment } = await runDeploy({ signer, network: hre.network.name, configFile: CONFIG, outDir: dir }));
    });

    after(function () {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("upow:stake --mint stakes and leaves 1000 tokens of bond money unstaked (default)", async function () {
      const signers = await ethers.getSigners();
      const c = connectDeployment(deployment, signers[0]);
      const who = signers[11].address;
      await hre.run("upow:stake", { index: 11, amount: "500", jury: "1000", mint: true, bondMoney: "1000", dir });
      const a = await c.stakeManager.account(who);
      expect(a.free).to.equal(500n * E18);
      expect(a.pendingJoin + a.reserve).to.equal(1000n * E18);
      expect(await c.stakingToken.balanceOf(who)).to.equal(1000n * E18);
    });

    it("upow:stake --mint --bond-money sets the unstaked amount", async function () {
      const signers = await ethers.getSigners();
      const c = connectDeployment(deployment, signers[0]);
      await hre.run("upow:stake", { index: 12, amount: "300", jury: "0", mint: true, bondMoney: "42.5", dir });
      expect((await c.stakeManager.account(signers[12].address)).free).to.equal(300n * E18);
      expect(await c.stakingToken.balanceOf(signers[12].address)).to.equal((425n * E18) / 10n);
    });

    it("upow:fund mints staking or payment tokens and sends ETH, to an address or an account index", async function () {
      const signers = await ethers.getSigners();
      const c = connectDeployment(deployment, signers[0]);
      const stranger = Wallet.createRandom().address;
      await hre.run("upow:fund", { to: stranger, tokens: "7", token: "staking", eth: "1.5", dir });
      expect(await c.stakingToken.balanceOf(stranger)).to.equal(7n * E18);
      expect(await ethers.provider.getBalance(stranger)).to.equal(parseEther("1.5"));
      const pay = c.paymentToken!;
      const before = await pay.balanceOf(signers[13].address);
      await hre.run("upow:fund", { to: "13", tokens: "3", token: "payment", eth: "0", dir });
      expect((await pay.balanceOf(signers[13].address)) - before).to.equal(3n * E18);
    });

    it("upow:fund names a bad --to, --token or amount, and refuses to do nothing", async function () {
      await rejects(
        hre.run("upow:fund", { to: "0x123", tokens: "1", token: "staking", eth: "0", dir }),
        TaskArgumentError,
        /--to must be an address or an account index/,
      );
      await rejects(
        hre.run("upow:fund", { to: "999", tokens: "1", token: "staking", eth: "0", dir }),
        TaskArgumentError,
        /--to 999: the node has 30 accounts/,
      );
      await rejects(
        hre.run("upow:fund", { to: "1", tokens: "1", token: "gold", eth: "0", dir }),
        TaskArgumentError,
        /--token must be staking or payment/,
      );
      await rejects(
        hre.run("upow:fund", { to: "1", tokens: "lots", token: "staking", eth: "0", dir }),
        TaskArgumentError,
        /--tokens must be a decimal amount/,
      );
      await rejects(hre.run("upow:fund", { to: "1", tokens: "0", token: "staking", eth: "0", dir }), TaskArgumentError, /nothing to do/);
    });

    it("fund never mints a token that is not a TestToken (a real token's deployment)", async function () {
      const [funder] = await ethers.getSigners();
      const real: Deployment = {
        ...deployment,
        contracts: { ...deployment.contracts, StakingToken: { ...deployment.contracts.StakingToken, contractName: "ERC20" } },
      };
      await rejects(fund({ deployment: real, funder, to: funder.address, tokens: 1n }), LocalChainOnlyError, /not a TestToken/);
    });

    it("the local-only tasks refuse chains other than 31337 and 1337", function () {
      expect(() => assertLocalChain(31337n, "x")).not.to.throw();
      expect(() => assertLocalChain(1337, "x")).not.to.throw();
      expect(() => assertLocalChain(1n, "upow:fund")).to.throw(
        LocalChainOnlyError,
        /upow:fund runs on a local dev chain only.*not on chain 1/,
      );
      expect(() => resolveAccount("0x000000000000000000000000000000000000dEaD", [])).not.to.throw();
    });
  });

  describe("upow:dev-key (the CLI, as the README pipes it)", function () {
    it("prints exactly dev key #i on stdout on hardhat/localhost, and refuses any other network", function () {
      const out = hardhatCli(["upow:dev-key", "--network", "hardhat", "--index", "2"]);
      expect(out).to.equal("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a\n");
      expect(new Wallet(out.trim()).address).to.equal("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
      expect(() => hardhatCli(["upow:dev-key", "--network", "testnet", "--index", "2"])).to.throw(
        /dev keys exist on hardhat and localhost only, not on network testnet/,
      );
    });
  });
});
