/**
 * TEMPORARY (until issue 15's CLI lands): the walkthrough with the flags the code has today, so the
 * harness runs before the other parts are merged. separateProcesses.test.ts picks the flow in one
 * place; this file goes once it runs README_FLOW.
 */
import type { Flow } from "./readmeFlow";

const KEYS: Record<number, string> = {
  2: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  3: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  4: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  5: "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
};
const WORKER =
  `UPOW_PRIVATE_KEY=${KEYS[2]} npx upow worker start --deployments $D --data-dir $UPOW_HOME/worker ` +
  `--accept-token $(addr PaymentToken) --confirmations 0 --allow-private-artifacts`;
const verifier = (i: number): string =>
  `UPOW_PRIVATE_KEY=${KEYS[i]} npx upow verifier start --job-market $(addr JobMarket) --audit-manager $(addr AuditManager) ` +
  `--dispute-manager $(addr DisputeManager) --start-block $(node -p "require('./$D').contracts.StakeManager.blockNumber") ` +
  `--data-dir $UPOW_HOME/verifier-${i} --confirmations 0 --allow-private-artifacts`;

export const PRE_MERGE_FLOW: Flow = {
  port: 8545,
  steps: [
    { id: "chain", role: "chain", longRunning: true, command: "npx hardhat node" },
    { id: "deploy", role: "setup", longRunning: false, command: "npx hardhat run scripts/deploy.ts --network localhost" },
    {
      id: "env", role: "env", longRunning: false,
      command: `export D=deployments/localhost.json UPOW_RPC_URLS=http://127.0.0.1:8545 UPOW_RPC_URL=http://127.0.0.1:8545; addr() { node -p "require('./$D').contracts.$1.address"; }`,
    },
    { id: "worker-stake", role: "setup", longRunning: false, command: "npx hardhat upow:stake --network localhost --index 2 --amount 300 --mint" },
    {
      id: "verifier-stakes", role: "setup", longRunning: false,
      command: "for i in 3 4 5; do npx hardhat upow:stake --network localhost --index $i --amount 500 --jury 1000 --mint; done",
    },
    { id: "worker", role: "worker", longRunning: true, command: WORKER },
    { id: "verifier-3", role: "verifier", longRunning: true, command: verifier(3) },
    { id: "verifier-4", role: "verifier", longRunning: true, command: verifier(4) },
    { id: "verifier-5", role: "verifier", longRunning: true, command: verifier(5) },
    { id: "requester", role: "requester", longRunning: false, command: "FAST_FORWARD=1 npx ts-node --transpile-only examples/createJobViem.ts" },
    { id: "cheater", role: "worker", longRunning: true, command: `${WORKER} --cheat skip=0.4` },
  ],
};
