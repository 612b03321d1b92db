/**
 * README.md's "Separate processes" walkthrough as data: every command an operator types, in
 * order, with its role and whether it runs until stopped (its own terminal). The end-to-end test
 * runs exactly these strings (through bash, in the repository root), and readmeFlow.test.ts
 * checks that README.md shows each of them verbatim in the section's fenced block, so the README
 * and the test cannot drift apart.
 */

export type Role = "chain" | "env" | "setup" | "worker" | "verifier" | "keeper" | "requester" | "status";

export interface FlowStep {
  /** How the test refers to the step. */
  readonly id: string;
  readonly role: Role;
  /** Runs until stopped, in its own terminal (the test: a child process in its own group). */
  readonly longRunning: boolean;
  /** The command, exactly as README.md shows it (may span lines). */
  readonly command: string;
}

export interface Flow {
  readonly steps: readonly FlowStep[];
  /** The RPC port the commands assume (`npx hardhat node`'s default). */
  readonly port: number;
}

const WORKER = `npx upow worker start --key worker --accept-token PaymentToken --allow-private-artifacts`;

/** The README's commands (protocol issue 15's operator flow). */
export const README_FLOW: Flow = {
  port: 8545,
  steps: [
    { id: "chain", role: "chain", longRunning: true, command: "npx hardhat node" },
    { id: "deploy", role: "setup", longRunning: false, command: "npx hardhat run scripts/deploy.ts --network localhost" },
    // Every later terminal runs this first (the test prefixes it to every later command).
    {
      id: "env",
      role: "env",
      longRunning: false,
      command: "export UPOW_KEYSTORE_PASSWORD=dev UPOW_DEPLOYMENTS=deployments/localhost.json UPOW_RPC_URLS=http://127.0.0.1:8545",
    },
    {
      id: "worker-key",
      role: "setup",
      longRunning: false,
      command: "npx hardhat upow:dev-key --network localhost --index 2 | npx upow key import worker",
    },
    {
      id: "worker-stake",
      role: "setup",
      longRunning: false,
      command: "npx hardhat upow:stake --network localhost --index 2 --amount 300 --mint",
    },
    {
      id: "verifier-stakes",
      role: "setup",
      longRunning: false,
      command: [
        "for i in 3 4 5; do",
        "  npx hardhat upow:dev-key --network localhost --index $i | npx upow key import verifier-$i",
        "  npx hardhat upow:stake --network localhost --index $i --amount 500 --jury 1000 --mint",
        "done",
      ].join("\n"),
    },
    { id: "worker", role: "worker", longRunning: true, command: WORKER },
    {
      id: "verifier-3",
      role: "verifier",
      longRunning: true,
      command: "npx upow verifier start --key verifier-3 --allow-private-artifacts",
    },
    {
      id: "verifier-4",
      role: "verifier",
      longRunning: true,
      command: "npx upow verifier start --key verifier-4 --allow-private-artifacts",
    },
    {
      id: "verifier-5",
      role: "verifier",
      longRunning: true,
      command: "npx upow verifier start --key verifier-5 --allow-private-artifacts",
    },
    { id: "keeper", role: "keeper", longRunning: true, command: "npx hardhat upow:fast-forward --network localhost" },
    { id: "requester", role: "requester", longRunning: false, command: "npx ts-node --transpile-only examples/createJobViem.ts" },
    // A cheater: the same worker restarted (Ctrl-C, then this) fakes 40% of its intervals.
    { id: "cheater", role: "worker", longRunning: true, command: `${WORKER} --cheat skip=0.4` },
    { id: "status", role: "status", longRunning: false, command: "npx upow status --key worker" },
  ],
};

export function step(flow: Flow, id: string): FlowStep {
  const s = flow.steps.find((x) => x.id === id);
  if (s === undefined) throw new Error(`the flow has no step ${id}`);
  return s;
}

/**
 * The command as run against a chain on `port` instead of the README's: the node listens there
 * and every URL naming the README's port names it instead. The only rewrite the test makes.
 */
export function onPort(flow: Flow, command: string, port: number): string {
  const url = `127.0.0.1:${flow.port}`;
  const moved = command.split(url).join(`127.0.0.1:${port}`);
  return moved === "npx hardhat node" ? `npx hardhat node --port ${port}` : moved;
}

/** What a later terminal runs: the `env` steps first, then the command. */
export function inTerminal(flow: Flow, id: string): string {
  const s = step(flow, id);
  const at = flow.steps.indexOf(s);
  const env = flow.steps.filter((x, i) => x.role === "env" && i < at).map((x) => x.command);
  return [...env, s.command].join("\n");
}
