import { Contract, getAddress, isError, type Provider } from "ethers";
import { UPowError } from "../errors";

/**
 * Start-up check of the configured contract addresses (both daemons): code present, the expected
 * contract (views only it has), wired to each other (JobMarket's auditManager/disputeManager/
 * stakeManager, and their jobMarket back), on the chain the deployments file names. A wrong address
 * is an operator error that no retry fixes, so it stops the daemon with a DeploymentCheckError
 * saying which address is wrong and what it looks like.
 */

export type ContractRole = "JobMarket" | "AuditManager" | "DisputeManager" | "StakeManager";

/** Views only this contract has (cheap, no arguments), to tell it from the others and from a token. */
const PROBES: Record<ContractRole, readonly string[]> = {
  JobMarket: ["function nextJobId() view returns (uint64)", "function challengeWindow() view returns (uint64)"],
  AuditManager: ["function drawDelay() view returns (uint64)", "function canaryRevealPeriod() view returns (uint64)"],
  DisputeManager: ["function disputeCount() view returns (uint256)", "function commitmentCount() view returns (uint64)"],
  StakeManager: ["function queueSettled() view returns (bool)", "function epochLength() view returns (uint64)"],
};
const ERC20_PROBES = [
  "function totalSupply() view returns (uint256)",
  "function decimals() view returns (uint8)",
  "function symbol() view returns (string)",
];

/** Getter → the role whose address it returns, for each role that holds a link. */
const WIRING: Record<ContractRole, Partial<Record<string, ContractRole>>> = {
  JobMarket: { auditManager: "AuditManager", disputeManager: "DisputeManager", stakeManager: "StakeManager" },
  AuditManager: { jobMarket: "JobMarket", stakeManager: "StakeManager" },
  DisputeManager: { jobMarket: "JobMarket", stakeManager: "StakeManager" },
  StakeManager: {},
};

export class DeploymentCheckError extends UPowError {
  override readonly name: string = "DeploymentCheckError";
}

export interface CheckDeploymentParameters {
  provider: Provider;
  /** The addresses the daemon was given; JobMarket at least. */
  addresses: Partial<Record<ContractRole, string>> & { JobMarket: string };
  /** The deployments file's chainId, when one was given. */
  expectedChainId?: number;
}

/** Throws DeploymentCheckError naming the first wrong address (or chain); resolves when all is consistent. */
export async function checkDeployment(params: CheckDeploymentParameters): Promise<void> {
  const { provider, addresses } = params;
  if (params.expectedChainId !== undefined) {
    const { chainId } = await provider.getNetwork();
    if (chainId !== BigInt(params.expectedChainId)) {
      throw new DeploymentCheckError(
        `the RPC is on chain ${chainId}, the deployments file on chain ${params.expectedChainId}: wrong --rpc-url or --deployments`,
        {
          details: { rpcChainId: chainId.toString(), deploymentsChainId: params.expectedChainId },
        },
      );
    }
  }
  const roles = Object.keys(addresses) as ContractRole[];
  for (const role of roles) {
    const address = addresses[role]!;
    const looks = await identify(provider, address);
    if (looks !== role) {
      throw new DeploymentCheckError(`the ${role} address ${address} is not a ${role}: ${describe(looks)}`, {
        details: { role, address, looksLike: describe(looks) },
      });
    }
  }
  for (const role of roles) {
    for (const [getter, target] of Object.entries(WIRING[role])) {
      const expected = addresses[target!];
      if (expected === undefined) continue;
      const actual = await view(provider, addresses[role]!, `function ${getter}() view returns (address)`);
      if (typeof actual !== "string" || getAddress(actual) !== getAddress(expected)) {
        throw new DeploymentCheckError(
          `wrong wiring: ${role} ${addresses[role]} uses ${target} ${String(actual)}, but this daemon was given ${target} ${expected} (addresses from different deployments?)`,
          { details: { role, getter, actual: String(actual), configured: expected } },
        );
      }
    }
  }
}

/** What the contract at `address` looks like: one of ours, an ERC20, some other contract, or nothing. */
type Identity = ContractRole | { erc20: string } | "unknown" | "no code";

async function identify(provider: Provider, address: string): Promise<Identity> {
  if ((await provider.getCode(address)) === "0x") return "no code";
  for (const role of Object.keys(PROBES) as ContractRole[]) {
    if (await answersAll(provider, address, PROBES[role])) return role;
  }
  if (await answersAll(provider, address, ERC20_PROBES)) {
    const symbol = await view(provider, address, ERC20_PROBES[2]!);
    return { erc20: typeof symbol === "string" ? symbol : "?" };
  }
  return "unknown";
}

function describe(i: Identity): string {
  if (i === "no code") return "no contract code there (wrong address or wrong chain?)";
  if (i === "unknown") return "a contract without the expected views";
  if (typeof i === "object") return `it is an ERC20 token (symbol ${i.erc20})`;
  return `it is the ${i}`;
}

async function answersAll(provider: Provider, address: string, fragments: readonly string[]): Promise<boolean> {
  for (const f of fragments) if ((await view(provider, address, f)) === undefined) return false;
  return true;
}

/** One no-argument view; undefined when it reverts or its answer does not decode (an RPC failure throws). */
async function view(provider: Provider, address: string, fragment: string): Promise<unknown> {
  const c = new Contract(address, [fragment], provider);
  try {
    return (await c.getFunction(fragment.slice("function ".length, fragment.indexOf("("))).staticCall()) as unknown;
  } catch (err) {
    if (isError(err, "BAD_DATA") || (isError(err, "CALL_EXCEPTION") && (typeof err.data === "string" || /revert/i.test(nodeMessage(err)))))
      return undefined;
    // Not an answer from the contract (the node failed the call): the caller's start-up retry handles it.
    throw err;
  }
}

/** The node's own error message (ethers keeps it in `info.error`): "execution reverted" on a revert without data. */
function nodeMessage(err: { info?: Record<string, unknown> }): string {
  const e = err.info?.error as { message?: unknown } | undefined;
  return typeof e?.message === "string" ? e.message : "";
}
