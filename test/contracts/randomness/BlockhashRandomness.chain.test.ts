import { expect } from "chai";
import { BrowserProvider } from "ethers";
import hre, { ethers } from "hardhat";
import { createProvider } from "hardhat/internal/core/providers/construction";
import type { HardhatNetworkConfig } from "hardhat/types";
import { deployUPow } from "../../../scripts/lib/deploy";
import { DeployConfigError } from "../../../scripts/lib/errors";
import { parseDeployConfig } from "../../../scripts/lib/params";
import { BlockhashRandomness__factory } from "../../../typechain-types";

/** A fresh in-process Hardhat network that reports chain id `chainId`. */
async function chainWithId(chainId: number): Promise<BrowserProvider> {
  const hardhat = hre.config.networks.hardhat as HardhatNetworkConfig;
  const config = { ...hre.config, networks: { ...hre.config.networks, hardhat: { ...hardhat, chainId } } };
  return new BrowserProvider(await createProvider(config, "hardhat", hre.artifacts));
}

describe("BlockhashRandomness: test chains only (V3.5)", function () {
  it("deploys on Hardhat (31337) and on 1337", async function () {
    expect((await ethers.provider.getNetwork()).chainId).to.equal(31337n);
    const rnd = await ethers.deployContract("BlockhashRandomness");
    expect(await rnd.currentBlock()).to.equal(BigInt(await ethers.provider.getBlockNumber()));
    const dev = await (await chainWithId(1337)).getSigner(0);
    await new BlockhashRandomness__factory(dev).deploy();
  });

  for (const chainId of [1, 10, 8453, 11155111]) {
    it(`refuses chain ${chainId} with BlockhashRandomnessNotTestChain`, async function () {
      const signer = await (await chainWithId(chainId)).getSigner(0);
      const factory = new BlockhashRandomness__factory(signer);
      await expect(factory.deploy()).to.be.revertedWithCustomError(factory, "BlockhashRandomnessNotTestChain").withArgs(chainId);
    });
  }

  it("deployUPow refuses to deploy it outside a test chain (DeployConfigError naming the chain)", async function () {
    const signer = await (await chainWithId(10)).getSigner(0);
    try {
      await deployUPow(signer, parseDeployConfig({ testTokens: true }));
      expect.fail("expected a DeployConfigError");
    } catch (e) {
      expect(e).to.be.instanceOf(DeployConfigError);
      expect((e as Error).message).to.match(/^chain 10 \(OP Mainnet\): blockhash randomness/);
    }
  });
});
