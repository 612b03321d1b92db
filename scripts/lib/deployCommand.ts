/**
 * The deploy command behind `scripts/deploy.ts` and the `upow:deploy` task: reads
 * `deployments/config/<network>.json`, checks the chain id, refuses to overwrite an existing
 * `deployments/<network>.json` without `force`, deploys with `deployUPow`, writes the registry.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Signer } from "ethers";
import { DEFAULT_DEPLOYMENTS_DIR, DEPLOYMENT_FORMAT, deploymentPath, type Deployment } from "../../verifier/chain/registry";
import { deployUPow, type DeployUPowResult } from "./deploy";
import { ChainIdMismatchError, DeployConfigError, DeploymentExistsError } from "./errors";
import { paramsToJson, parseDeployConfig } from "./params";

export interface RunDeployParameters {
  signer: Signer;
  network: string;
  /** @default deployments/config/<network>.json */
  configFile?: string;
  /** Where `<network>.json` is written. @default deployments/ */
  outDir?: string;
  /** Overwrite an existing deployment file. @default false */
  force?: boolean;
  log?: (line: string) => void;
}

export interface RunDeployReturnType {
  deployment: Deployment;
  file: string;
  result: DeployUPowResult;
}

export async function runDeploy(p: RunDeployParameters): Promise<RunDeployReturnType> {
  const outDir = p.outDir ?? DEFAULT_DEPLOYMENTS_DIR;
  const file = deploymentPath(p.network, outDir);
  const configFile = p.configFile ?? path.join(DEFAULT_DEPLOYMENTS_DIR, "config", `${p.network}.json`);
  if (fs.existsSync(file) && p.force !== true) {
    throw new DeploymentExistsError(`${file} exists; pass --force (FORCE=1) to deploy again and overwrite it`, { details: { file } });
  }
  const raw = readConfig(configFile);
  const params = parseDeployConfig(raw, configFile);

  const provider = p.signer.provider;
  if (provider === null) throw new DeployConfigError("the signer has no provider", { source: configFile });
  const chainId = Number((await provider.getNetwork()).chainId);
  const wanted = (raw as { chainId?: unknown }).chainId;
  if (wanted !== undefined && wanted !== chainId) {
    throw new ChainIdMismatchError(`${configFile} is for chain ${String(wanted)}, the network is chain ${chainId}`, {
      details: { expected: wanted, actual: chainId },
    });
  }
  if (params.testTokens && chainId !== 31337 && chainId !== 1337) {
    throw new ChainIdMismatchError(`testTokens (freely mintable) on chain ${chainId}: only local chains (31337, 1337) may have them`, {
      details: { chainId },
    });
  }

  const result = await deployUPow(p.signer, params, { log: p.log });
  const deployment: Deployment = {
    format: DEPLOYMENT_FORMAT,
    network: p.network,
    chainId,
    deployer: result.deployer,
    gitCommit: gitCommit(),
    deployedAt: new Date().toISOString(),
    params: paramsToJson(params),
    contracts: result.contracts as Deployment["contracts"],
  };
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(deployment, null, 2)}\n`);
  fs.renameSync(tmp, file);
  p.log?.(`wrote ${file}`);
  return { deployment, file, result };
}

function readConfig(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new DeployConfigError(`no config file ${file} (see deployments/README.md)`, { source: file, cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new DeployConfigError(`${file} is not valid JSON`, { source: file, cause });
  }
}

/** HEAD of the repository, "-dirty" when the tree has changes; "unknown" outside git. */
function gitCommit(cwd: string = path.resolve(__dirname, "..", "..")): string {
  try {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty === "" ? head : `${head}-dirty`;
  } catch {
    return "unknown";
  }
}
