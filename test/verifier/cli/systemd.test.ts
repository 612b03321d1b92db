/** The systemd examples in docs/systemd/ stay runnable: every ExecStart flag, env variable and config key is one the daemon accepts. */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import type { Command } from "commander";
import { applyConfigFile } from "../../../verifier/cli/configFile";
import { verifierStartCommand } from "../../../verifier/cli/commands/verifierStart";
import { workerStartCommand } from "../../../verifier/cli/commands/workerStart";

const DIR = path.resolve(__dirname, "..", "..", "..", "docs", "systemd");
const noop = async (): Promise<void> => undefined;
/** Env variables the daemons read besides their options' own. */
const EXTRA_ENV = ["UPOW_HOME", "XDG_STATE_HOME", "UPOW_KEYSTORE_PASSWORD", "UPOW_PRIVATE_KEY", "UPOW_RPC_URL"];

describe("docs/systemd examples", function () {
  for (const [role, make] of [
    ["worker", () => workerStartCommand(noop)],
    ["verifier", () => verifierStartCommand(noop)],
  ] as [string, () => Command][]) {
    it(`upow-${role}.service runs \`upow ${role} start\` with flags, env and a config file it accepts`, function () {
      const unit = fs.readFileSync(path.join(DIR, `upow-${role}.service`), "utf8");
      const cmd = make();
      const exec = /^ExecStart=(.+)$/m.exec(unit)?.[1]?.split(/\s+/) ?? [];
      const at = exec.findIndex((a) => a.endsWith("bin/upow.js"));
      expect(at, "ExecStart runs bin/upow.js").to.be.greaterThan(0);
      expect(exec.slice(at + 1, at + 3)).to.deep.equal([role, "start"]);
      const longs = new Set(cmd.options.map((o) => o.long));
      const flags = exec.slice(at + 3).filter((a) => a.startsWith("--"));
      expect(flags).to.include("--config");
      for (const f of flags) expect(longs.has(f), f).to.equal(true);

      const envs = new Set([...cmd.options.map((o) => o.envVar), ...EXTRA_ENV]);
      for (const m of unit.matchAll(/^Environment=([A-Z_]+)=/gm)) expect(envs.has(m[1]), m[1]).to.equal(true);

      // The config the unit names is the example next to it; applying it checks every key and value.
      const config = exec[exec.indexOf("--config") + 1]!;
      const example = path.join(DIR, path.basename(config));
      expect(fs.existsSync(example), example).to.equal(true);
      applyConfigFile(cmd, example);
      expect(cmd.getOptionValueSource("rpcUrl")).to.equal("config");
    });
  }
});
