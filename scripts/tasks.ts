/**
 * Hardhat tasks: `upow:deploy`, `upow:params`, `upow:set-param`, `upow:grant-role`,
 * `upow:revoke-role`, `upow:allow-token`, `upow:stake`, `upow:fund`, `upow:dev-key`, `upow:fast-forward`,
 * `upow:post-canaries`. Imported by hardhat.config.ts; the libraries are loaded
 * inside the actions because typechain-types does not exist before the first compile.
 */
import { subtask, task, types } from "hardhat/config";
import { TASK_NODE_SERVER_READY } from "hardhat/builtin-tasks/task-names";
import type { EIP1193Provider, HardhatRuntimeEnvironment } from "hardhat/types";

// `npx hardhat node` mines a block every UPOW_BLOCK_TIME_MS (like Anvil's --block-time) as well as
// on each transaction: daemons that read `confirmations` blocks behind the head, and draws that
// wait for a later block, must see blocks come on an idle chain (issue 15). Only the node's own
// provider is touched; the in-process network of `hardhat test` keeps plain automining.
subtask(TASK_NODE_SERVER_READY, async (args: { provider: EIP1193Provider }, _hre, runSuper) => {
  const { blockTimeMs } = await import("./lib/localChain");
  const ms = blockTimeMs(process.env.UPOW_BLOCK_TIME_MS);
  if (ms > 0) await args.provider.request({ method: "evm_setIntervalMining", params: [ms] });
  await runSuper(args);
  console.log(
    ms > 0
      ? `Mining a block every ${ms} ms and on each transaction (UPOW_BLOCK_TIME_MS; 0: only on transactions)\n`
      : "Mining on each transaction only (UPOW_BLOCK_TIME_MS=0)\n",
  );
});

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
      signer,
      network: hre.network.name,
      configFile: args.deployConfig,
      outDir: args.out,
      force: args.force,
      log: (l) => console.log(l),
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

for (const [name, revoke] of [
  ["upow:grant-role", false],
  ["upow:revoke-role", true],
] as const) {
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

task("upow:stake", "Stakes from one of the network's accounts (local: --mint test tokens first, plus bond money)")
  .addParam("index", "account index of the node's accounts (npx hardhat node prints them)", undefined, types.int)
  .addParam("amount", "whole tokens of free stake (worker collateral, auditor attestations)")
  .addOptionalParam("jury", "whole tokens for the juror reserve (draw weight; counts from the next epoch)", "0")
  .addFlag("mint", "mint the amounts first, plus --bond-money (TestToken deployments only)")
  .addOptionalParam("bondMoney", "whole tokens --mint adds and leaves unstaked, for dispute and commitment bonds", "1000")
  .addOptionalParam("dir", "deployments directory")
  .setAction(async (args: { index: number; amount: string; jury: string; mint: boolean; bondMoney: string; dir?: string }, hre) => {
    const { fund, parseWholeAmount } = await import("./lib/localChain");
    const { deployment } = await governanceContext(hre, args.dir);
    const signer = (await hre.ethers.getSigners())[args.index];
    if (signer === undefined) throw new Error(`no account ${args.index}`);
    const registry = await import("../verifier/chain/registry");
    const c = registry.connectDeployment(deployment, signer);
    const amount = parseWholeAmount(args.amount, "amount");
    const jury = parseWholeAmount(args.jury, "jury");
    // Staked tokens cannot pay bonds: a verifier that disputes needs unstaked tokens too (issue 15).
    if (args.mint)
      await fund({
        deployment,
        funder: signer,
        to: signer.address,
        tokens: amount + jury + parseWholeAmount(args.bondMoney, "bond-money"),
      });
    await (await c.stakingToken.approve(deployment.contracts.StakeManager.address, amount + jury)).wait();
    if (amount > 0n) await (await c.stakeManager.stake(amount)).wait();
    if (jury > 0n) await (await c.stakeManager.stakeForJury(jury)).wait();
    const a = await c.stakeManager.account(signer.address);
    const epoch = await c.stakeManager.currentEpoch();
    const from =
      jury > 0n
        ? `; the reserve weighs in draws from epoch ${a.pendingEpoch} (now ${epoch}, starts ${await c.stakeManager.epochStart(a.pendingEpoch)})`
        : "";
    const wallet = await c.stakingToken.balanceOf(signer.address);
    console.log(
      `${signer.address}: free ${a.free}, locked ${a.locked}, juror reserve ${a.reserve} + queued ${a.pendingJoin}${from}; ${wallet} unstaked for bonds`,
    );
  });

task("upow:fund", "Local chains: mints test tokens to an account and/or sends it ETH (from account #0)")
  .addParam("to", "an address, or an index of the node's accounts")
  .addOptionalParam("tokens", "whole tokens to mint (TestToken deployments only)", "0")
  .addOptionalParam("token", "staking | payment", "staking")
  .addOptionalParam("eth", "whole ETH to send", "0")
  .addOptionalParam("dir", "deployments directory")
  .setAction(async (args: { to: string; tokens: string; token: string; eth: string; dir?: string }, hre) => {
    const { formatEther, formatUnits } = await import("ethers");
    const { assertLocalChain, fund, parseWholeAmount, resolveAccount } = await import("./lib/localChain");
    assertLocalChain((await hre.ethers.provider.getNetwork()).chainId, "upow:fund");
    const { deployment, signer } = await governanceContext(hre, args.dir);
    const accounts = (await hre.ethers.getSigners()).map((s) => s.address);
    const r = await fund({
      deployment,
      funder: signer,
      to: resolveAccount(args.to, accounts),
      token: args.token,
      tokens: parseWholeAmount(args.tokens, "tokens"),
      eth: parseWholeAmount(args.eth, "eth"),
    });
    const parts = [
      r.minted > 0n ? `minted ${formatUnits(r.minted, 18)} ${args.token} tokens (${r.token})` : "",
      r.eth > 0n ? `sent ${formatEther(r.eth)} ETH` : "",
    ];
    console.log(`${r.to}: ${parts.filter((x) => x !== "").join(", ")}`);
  });

task(
  "upow:dev-key",
  "Prints Hardhat's well-known dev private key #index on stdout (hardhat/localhost only), e.g. | npx upow key import <name>",
)
  .addParam("index", "account index (npx hardhat node prints the accounts)", undefined, types.int)
  .setAction(async (args: { index: number }, hre) => {
    const { devKey } = await import("./lib/localChain");
    // The key alone on stdout, so that it can be piped into `upow key import`.
    process.stdout.write(`${devKey(hre, args.index).privateKey}\n`);
  });

task("upow:fast-forward", "Local chains: a long-running keeper that skips chain time nobody needs (never sends a protocol transaction)")
  .addOptionalParam(
    "floor",
    "seconds after a submission before its window may be skipped (independent verifiers' own audits)",
    60,
    types.int,
  )
  .addOptionalParam("disputeHold", "seconds an open dispute holds its job's window (default: --floor)", undefined, types.int)
  // 120 s: a juror re-executing steps on a loaded 2-core machine, or restarted after a crash, needs
  // more than 30 s to commit or reveal; a skipped phase fails the round and can void the dispute.
  .addOptionalParam("grace", "seconds a vote phase may stall before it is skipped anyway", 120, types.int)
  .addOptionalParam("appealGrace", "seconds a ruling's appeal window is kept before it is skipped (nobody appeals locally)", 30, types.int)
  .addOptionalParam("interval", "milliseconds between looks at the chain", 1000, types.int)
  .addOptionalParam("dir", "deployments directory")
  .setAction(
    async (args: { floor: number; disputeHold?: number; grace: number; appealGrace: number; interval: number; dir?: string }, hre) => {
      const { assertLocalChain } = await import("./lib/localChain");
      const { TimeKeeper } = await import("./lib/demo/timeKeeper");
      const { onChainWindowRule } = await import("./lib/demo/windowRules");
      // It moves block time: never on a chain that could hold value.
      assertLocalChain((await hre.ethers.provider.getNetwork()).chainId, "upow:fast-forward");
      const { contracts } = await governanceContext(hre, args.dir);
      const log = (l: string) => console.log(`${new Date().toISOString()} ${l}`);
      const keeper = new TimeKeeper({
        contracts,
        provider: hre.network.provider,
        graceMs: args.grace * 1000,
        appealGraceMs: args.appealGrace * 1000,
        jobs: "all",
        epochs: true,
        logWaits: true,
        log,
        window: onChainWindowRule({
          contracts,
          floorMs: args.floor * 1000,
          disputeHoldMs: args.disputeHold === undefined ? undefined : args.disputeHold * 1000,
        }),
      });
      log(
        `fast-forward on chain ${(await hre.ethers.provider.getNetwork()).chainId}: a window passes ${args.floor} s after submission at the earliest, once every assigned auditor attested or disputed (Ctrl-C stops)`,
      );
      for (;;) {
        try {
          await keeper.tick();
        } catch (e) {
          log(`tick failed (retrying): ${e instanceof Error ? e.message : String(e)}`);
        }
        await new Promise((r) => setTimeout(r, args.interval));
      }
    },
  );

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
    const { epoch, tree } = await postCanaryEpoch(
      contracts.canaryRegistry,
      canaries,
      args.epoch === undefined ? undefined : BigInt(args.epoch),
    );
    const out = {
      epoch: epoch.toString(),
      root: tree.root,
      canaries: canaries.map((c, i) => ({ ...c, faultSteps: c.faultSteps.map(String), proof: tree.proof(i) })),
    };
    fs.writeFileSync(args.out, JSON.stringify(out, null, 2), { mode: 0o600 });
    console.log(`epoch ${epoch}: root ${tree.root} posted; proofs in ${args.out}`);
  });
