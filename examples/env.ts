/** What the examples read from the environment, named like the daemons' settings (issue 15). */
import { loadDeployment, type Deployment } from "../verifier/chain/registry";

/** The deployment the env names: UPOW_DEPLOYMENTS (a file), else deployments/<NETWORK>.json. */
export function exampleDeployment(env: NodeJS.ProcessEnv): Deployment {
  return env.UPOW_DEPLOYMENTS ? loadDeployment({ file: env.UPOW_DEPLOYMENTS }) : loadDeployment({ network: env.NETWORK ?? "localhost" });
}

/** The RPC the env names: the first of UPOW_RPC_URLS, else RPC_URL, else the local node. */
export function exampleRpcUrl(env: NodeJS.ProcessEnv): string {
  const first = env.UPOW_RPC_URLS?.split(",")[0]?.trim();
  return first || env.RPC_URL || "http://127.0.0.1:8545";
}
