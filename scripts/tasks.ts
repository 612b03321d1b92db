/**
 * Hardhat tasks: `upow:deploy`, `upow:params`, `upow:set-param`, `upow:grant-role`,
 * `upow:revoke-role`, `upow:allow-token`, `upow:stake`, `upow:post-canaries`. Imported by hardhat.config.ts; the libraries are loaded
 * inside the actions because typechain-types does not exist before the first compile.
 */
import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

async function governanceContext(hre: HardhatRuntimeEnvironment, dir?: string) {
  const registry = await import("../verifier/chain/registry");
  const deployment = registry.loadDeployment({ network: hre.network.name, dir });
  const [signer] = await hre.ethers.getSigners();
  await registry.assertChainId(deployment, hre.ethers.provider);
  return { deployment, contracts: registry.connectDeployment(deployment, signer), signer };
}

task("upow:deploy", "Deploys and wires all uPoW contracts; writes deployments/<network>.json")
  .addFlag("force", "overwrite an existing deployment file")
  .addOptionalParam("deployConfig", "config file (default deployments/config/<network>.json)")
  .addOptionalParam("out", "directory for <network>.json (default deployments/)")
  .setAction(async (args: { force: boolean; deployConfig?: string; out?: string }, hre) => {
    await hre.run("compile", { quiet: true });
    const { runDeploy } = await import("./lib/deployCommand");
    const [signer] = await hre.ethers.getSigners();
    const { file } = await runDeploy({
      signer, network: hre.network.name, configFile: args.deployConfig, outDir: args.out, force: args.force, log: (l) => console.log(l),
    });
    console.log(`deployment written to ${file}`);
  });

task("upow:params", "Prints every governance parameter of the deployment")
  .addOptionalParam("dir", "deployments directory")
  .setAction(async (args: { dir?: string }, hre) => {
    const { readParams } = await import("./lib/governance");
    const { contracts } = await governanceContext(hre, args.dir);
    for (const [k, v] of Object.entries(await readParams(contracts))) console.log(`${k} = ${v}`);
  });

task("upow:set-param", "Sets one governance parameter (<Contract>.<param>; amounts in whole tokens)")
  .addParam("name", "e.g. JobMarket.challengeWindow, DisputeManager.disputeBond")
  .addParam("value", "integer, or whole tokens for amounts")
  .addOptionalParam("decimals", "token decimals for amounts", 18, types.int)
  .addOptionalParam("dir", "deployments directory")
  .setAction(async (args: { name: string; value: string; decimals: number; dir?: string }, hre) => {
    const { setParam } = await import("./lib/governance");
    const { contracts } = await governanceContext(hre, args.dir);
    const r = await setParam(contracts, args.name, args.value, args.decimals);
    console.log(`${r.name}: ${r.before} -> ${r.after} (tx ${r.txHash})`);
  });

for (const [name, revoke] of [["upow:grant-role", false], ["upow:revoke-role", true]] as const) {
  task(name, `${revoke ? "Revokes" : "Grants"} a role on a uPoW contract`)
    .addParam("contract", "StakeManager | JobMarket | AuditManager | DisputeManager | DataAvailability | CanaryRegistry")
    .addParam("role", "DEFAULT_ADMIN_ROLE | GOVERNOR_ROLE | MODULE_ROLE | DISPUTE_ROLE | CANARY_ROLE")
    .addParam("account", "an address or a contract key of the deployment (e.g. DisputeManager)")
    .addOptionalParam("dir", "deployments directory")
    .setAction(async (args: { contract: string; role: string; account: string; dir?: string }, hre) => {
      const { changeRole } = await import("./lib/governance");
      const { contracts, deployment } = await governanceContext(hre, args.dir);
      const r = await changeRole(contracts, deployment, args.contract, args.role, args.account, revoke);
      console.log(`${r.contract}.${r.role} ${r.account}: hasRole=${r.hasRole}${r.txHash ? ` (tx ${r.txHash})` : " (unchanged)"}`);
    });
}

task("upow:allow-token", "Allow-lists (or with --disallow removes) a payment token")
  .addParam("token", "ERC20 address")
  .addFlag("disallow", "remove from the allow-list")
  .addOptionalParam("dir", "deployments directory")
  .setAction(async (args: { token: string; disallow: boolean; dir?: string }, hre) => {
    const { allowToken } = await import("./lib/governance");
    const { contracts } = await governanceContext(hre, args.dir);
    console.log(`tx ${await allowToken(contracts, args.token, !args.disallow)}`);
  });

task("upow:stake", "Stakes from one of the network's accounts (local: --mint test tokens first)")
  .addParam("index", "account index of the node's accounts (npx hardhat node prints them)", undefined, types.int)
  .addParam("amount", "whole tokens of free stake (worker collateral, auditor attestations)")
  .addOptionalParam("jury", "whole tokens for the juror reserve (draw weight; counts from the next epoch)", "0")
  .addFlag("mint", "mint the amounts first (TestToken deployments only)")
  .addOptionalParam("dir", "deployments directory")
  .setAction(async (args: { index: number; amount: string; jury: string; mint: boolean; dir?: string }, hre) => {
    const { parseUnits } = await import("ethers");
    const { TestToken__factory } = await import("../typechain-types");
    const { deployment } = await governanceContext(hre, args.dir);
    const signer = (await hre.ethers.getSigners())[args.index];
    if (signer === undefined) throw new Error(`no account ${args.index}`);
    const registry = await import("../verifier/chain/registry");
    const c = registry.connectDeployment(deployment, signer);
    const amount = parseUnits(args.amount, 18);
    const jury = parseUnits(args.jury, 18);
    if (args.mint) {
      if (deployment.contracts.StakingToken.contractName !== "TestToken") throw new Error("--mint needs a TestToken deployment");
      await (await TestToken__factory.connect(deployment.contracts.StakingToken.address, signer).mint(signer.address, amount + jury)).wait();
    }
    await (await c.stakingToken.approve(deployment.contracts.StakeManager.address, amount + jury)).wait();
    if (amount > 0n) await (await c.stakeManager.stake(amount)).wait();
    if (jury > 0n) await (await c.stakeManager.stakeForJury(jury)).wait();
    const a = await c.stakeManager.account(signer.address);
    const epoch = await c.stakeManager.currentEpoch();
    const from = jury > 0n ? `; the reserve weighs in draws from epoch ${a.pendingEpoch} (now ${epoch}, starts ${await c.stakeManager.epochStart(a.pendingEpoch)})` : "";
    console.log(`${signer.address}: free ${a.free}, locked ${a.locked}, juror reserve ${a.reserve} + queued ${a.pendingJoin}${from}`);
  });

task("upow:post-canaries", "Commits an epoch's canaries (v3 V11.1): builds their Merkle tree, posts the root, writes the proofs")
  .addParam("file", "JSON array of { specHash, faultSteps: (number|string)[], salt } (faultSteps: faulty global steps, ascending)")
  .addParam("out", "where to write { epoch, root, canaries: [{ ..., proof }] } (keep it secret until each reveal)")
  .addOptionalParam("epoch", "epoch to commit (default: the next one; it must be in the future)")
  .addOptionalParam("dir", "deployments directory")
  .setAction(async (args: { file: string; out: string; epoch?: string; dir?: string }, hre) => {
    const fs = await import("node:fs");
    const { postCanaryEpoch } = await import("./lib/canary");
    const { contracts } = await governanceContext(hre, args.dir);
    const raw = JSON.parse(fs.readFileSync(args.file, "utf8")) as { specHash: string; faultSteps: (number | string)[]; salt: string }[];
    const canaries = raw.map((c) => ({ specHash: c.specHash, faultSteps: c.faultSteps.map((x) => BigInt(x)), salt: c.salt }));
    const { epoch, tree } = await postCanaryEpoch(contracts.canaryRegistry, canaries, args.epoch === undefined ? undefined : BigInt(args.epoch));
    const out = { epoch: epoch.toString(), root: tree.root, canaries: canaries.map((c, i) => ({ ...c, faultSteps: c.faultSteps.map(String), proof: tree.proof(i) })) };
    fs.writeFileSync(args.out, JSON.stringify(out, null, 2), { mode: 0o600 });
    console.log(`epoch ${epoch}: root ${tree.root} posted; proofs in ${args.out}`);
  });
