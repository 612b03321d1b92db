/**
 * `npx hardhat run scripts/deploy.ts --network <name>` (env FORCE=1 to overwrite an existing
 * deployment, DEPLOY_CONFIG=<file> for another config). Same as `npx hardhat upow:deploy`.
 */
import hre from "hardhat";
import { runDeploy } from "./lib/deployCommand";

async function main(): Promise<void> {
  const [signer] = await hre.ethers.getSigners();
  const { file } = await runDeploy({
    signer,
    network: hre.network.name,
    configFile: process.env.DEPLOY_CONFIG,
    force: process.env.FORCE === "1" || process.env.FORCE === "true",
    log: (l) => console.log(l),
  });
  console.log(`deployment written to ${file}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
