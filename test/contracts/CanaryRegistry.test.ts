import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { buildCanaryTree, canaryLeaf, checkCanary, postCanaryEpoch, type Canary } from "../../scripts/lib/canary";

const HOUR = 3_600n;
const DAY = 86_400n;

describe("CanaryRegistry", function () {
  async function fixture() {
    const [admin, stranger] = await ethers.getSigners();
    const registry = await ethers.deployContract("CanaryRegistry", [admin.address, DAY]);
    return { admin, stranger, registry };
  }

  const canaries: Canary[] = [
    { specHash: ethers.id("a"), faultSteps: [3n, 8n], salt: ethers.id("s1") },
    { specHash: ethers.id("b"), faultSteps: [], salt: ethers.id("s2") },
    { specHash: ethers.id("c"), faultSteps: [0n], salt: ethers.id("s3") },
  ];

  it("sets genesis, epoch length and roles", async function () {
    const { admin, registry } = await loadFixture(fixture);
    const tx = registry.deploymentTransaction()!;
    const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
    expect(await registry.genesis()).to.equal(BigInt(block!.timestamp));
    expect(await registry.epochLength()).to.equal(DAY);
    expect(await registry.hasRole(await registry.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
    expect(await registry.hasRole(await registry.CANARY_ROLE(), admin.address)).to.equal(true);
  });

  it("refuses a zero admin and an epoch length out of [1 h, 30 d]", async function () {
    const { admin } = await loadFixture(fixture);
    const f = await ethers.getContractFactory("CanaryRegistry");
    await expect(f.deploy(ethers.ZeroAddress, DAY)).to.be.revertedWithCustomError(f, "CanaryRegistryZeroAddress");
    await expect(f.deploy(admin.address, HOUR - 1n))
      .to.be.revertedWithCustomError(f, "CanaryRegistryInvalidEpochLength")
      .withArgs(HOUR - 1n);
    await expect(f.deploy(admin.address, 30n * DAY + 1n))
      .to.be.revertedWithCustomError(f, "CanaryRegistryInvalidEpochLength")
      .withArgs(30n * DAY + 1n);
    await expect(f.deploy(admin.address, HOUR)).not.to.be.reverted;
    await expect(f.deploy(admin.address, 30n * DAY)).not.to.be.reverted;
  });

  it("numbers epochs from genesis (0 before it)", async function () {
    const { registry } = await loadFixture(fixture);
    const g = await registry.genesis();
    expect(await registry.epochOf(0)).to.equal(0n);
    expect(await registry.epochOf(g - 1n)).to.equal(0n);
    expect(await registry.epochOf(g)).to.equal(0n);
    expect(await registry.epochOf(g + DAY - 1n)).to.equal(0n);
    expect(await registry.epochOf(g + DAY)).to.equal(1n);
    expect(await registry.epochOf(g + 5n * DAY + 7n)).to.equal(5n);
    await time.increaseTo(g + 2n * DAY);
    expect(await registry.currentEpoch()).to.equal(2n);
  });

  describe("postRoot", function () {
    it("posts once for a future epoch", async function () {
      const { registry } = await loadFixture(fixture);
      const root = ethers.id("root");
      await expect(registry.postRoot(3, root)).to.emit(registry, "CanaryRootPosted").withArgs(3n, root);
      expect(await registry.rootOf(3)).to.equal(root);
      expect(await registry.rootOf(2)).to.equal(ethers.ZeroHash);
      await expect(registry.postRoot(3, ethers.id("other")))
        .to.be.revertedWithCustomError(registry, "CanaryRegistryRootExists")
        .withArgs(3n);
    });

    it("refuses the current and past epochs, a zero root and callers without CANARY_ROLE", async function () {
      const { registry, stranger } = await loadFixture(fixture);
      const g = await registry.genesis();
      await time.increaseTo(g + 2n * DAY);
      const root = ethers.id("root");
      await expect(registry.postRoot(2, root)).to.be.revertedWithCustomError(registry, "CanaryRegistryEpochNotFuture").withArgs(2n, 2n);
      await expect(registry.postRoot(0, root)).to.be.revertedWithCustomError(registry, "CanaryRegistryEpochNotFuture").withArgs(0n, 2n);
      await expect(registry.postRoot(3, ethers.ZeroHash)).to.be.revertedWithCustomError(registry, "CanaryRegistryZeroRoot");
      await expect(registry.connect(stranger).postRoot(3, root))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await registry.CANARY_ROLE());
      await expect(registry.postRoot(3, root)).to.emit(registry, "CanaryRootPosted");
    });
  });

  describe("verifyCanary", function () {
    it("accepts every leaf of the epoch's tree for a creation time inside the epoch, nothing else", async function () {
      const { registry } = await loadFixture(fixture);
      const { epoch, tree } = await postCanaryEpoch(registry, canaries);
      expect(epoch).to.equal(1n);
      expect(await registry.rootOf(1)).to.equal(tree.root);
      const start = (await registry.genesis()) + DAY;
      for (const [i, c] of canaries.entries()) {
        expect(await registry.verifyCanary(start, c.specHash, c.faultSteps, c.salt, tree.proof(i))).to.equal(true);
        expect(await registry.verifyCanary(start + DAY - 1n, c.specHash, c.faultSteps, c.salt, tree.proof(i))).to.equal(true);
        // another epoch (no root, or another root)
        expect(await registry.verifyCanary(start - 1n, c.specHash, c.faultSteps, c.salt, tree.proof(i))).to.equal(false);
        expect(await registry.verifyCanary(start + DAY, c.specHash, c.faultSteps, c.salt, tree.proof(i))).to.equal(false);
        // another opening
        expect(await registry.verifyCanary(start, c.specHash, [...c.faultSteps, 99n], c.salt, tree.proof(i))).to.equal(false);
        expect(await registry.verifyCanary(start, c.specHash, c.faultSteps, ethers.id("x"), tree.proof(i))).to.equal(false);
        expect(await registry.verifyCanary(start, ethers.id("x"), c.faultSteps, c.salt, tree.proof(i))).to.equal(false);
      }
    });

    it("a one-leaf tree is its leaf; the tooling refuses unsorted faults and empty epochs", async function () {
      const { registry } = await loadFixture(fixture);
      const tree = buildCanaryTree([canaries[0]]);
      expect(tree.root).to.equal(canaryLeaf(canaries[0]));
      expect(tree.proof(0)).to.deep.equal([]);
      await postCanaryEpoch(registry, [canaries[0]], 4n);
      const c = canaries[0];
      expect(await registry.verifyCanary((await registry.genesis()) + 4n * DAY, c.specHash, c.faultSteps, c.salt, [])).to.equal(true);
      expect(() => checkCanary({ ...c, faultSteps: [2n, 2n] })).to.throw(/ascending/);
      expect(() => buildCanaryTree([])).to.throw(/at least one/);
    });
  });
});
