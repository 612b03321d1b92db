/**
 * Where a daemon keeps its files by default, outside the repository (XDG base directories):
 * `${XDG_STATE_HOME:-~/.local/state}/upow`, or `UPOW_HOME`. Keys live in `<state>/keys`; a daemon's
 * data dir is `<state>/<role>-<address>`, so two daemons with different keys never share one.
 */
import os from "node:os";
import path from "node:path";
import { getAddress } from "ethers";

export type DaemonRole = "worker" | "verifier";

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UPOW_HOME) return path.resolve(env.UPOW_HOME);
  // XDG: a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), ".local", "state");
  return path.join(xdg, "upow");
}

export function defaultKeyDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), "keys");
}

export function defaultDataDir(role: DaemonRole, address: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), `${role}-${getAddress(address)}`);
}
