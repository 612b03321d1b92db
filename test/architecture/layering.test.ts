/**
 * The layering rules of .dependency-cruiser.cjs (issue 20), run through dependency-cruiser's JS
 * API so `npm test` enforces them as `npm run lint:deps` does: no import cycles,
 * verifier/protocol/ imports nothing of the repository above it, verifier/runtime/ imports no
 * daemon, and the worker and the verifier daemon do not import each other. A fixture tree shows each rule
 * does catch what it is meant to (a rule that matched nothing would pass the real tree too).
 */
import { expect } from "chai";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ICruiseOptions, ICruiseResult, IConfiguration, IViolation } from "dependency-cruiser/types/dependency-cruiser.mjs";
import type { ParsedCommandLine } from "typescript";

const REPO = path.resolve(__dirname, "..", "..");
const ROOTS = ["verifier", "scripts", "bin", "bench"];

interface DepCruiser {
  cruise(
    roots: string[],
    options: ICruiseOptions,
    resolve?: object,
    transpile?: { tsConfig?: ParsedCommandLine },
  ): Promise<{ output: ICruiseResult | string }>;
}

// dependency-cruiser is ESM only; ts-node compiles this file to CommonJS, which would turn a plain
// `import()` into `require()` (ERR_REQUIRE_ESM on Node 20). A Function body keeps the real import().
const importEsm = new Function("specifier", "return import(specifier)") as <T>(specifier: string) => Promise<T>;

async function cruiseViolations(baseDir: string, roots: readonly string[]): Promise<IViolation[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const config = require(path.join(REPO, ".dependency-cruiser.cjs")) as IConfiguration;
  const { cruise } = await importEsm<DepCruiser>("dependency-cruiser");
  const { default: extractTSConfig } = await importEsm<{ default: (file: string) => ParsedCommandLine }>(
    "dependency-cruiser/config-utl/extract-ts-config",
  );
  const tsConfigFile = path.join(REPO, "tsconfig.json");
  const result = await cruise(
    [...roots],
    { ...config.options, baseDir, tsConfig: { fileName: tsConfigFile }, validate: true, ruleSet: { forbidden: config.forbidden } },
    undefined,
    { tsConfig: extractTSConfig(tsConfigFile) },
  );
  if (typeof result.output === "string") throw new Error("dependency-cruiser returned formatted output, expected the result object");
  return result.output.summary.violations;
}

function describeViolation(v: IViolation): string {
  const cycle = v.cycle ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(" → ")})` : "";
  return `${v.rule.name}: ${v.from} → ${v.to}${cycle}`;
}

describe("architecture: layering (.dependency-cruiser.cjs)", function () {
  this.timeout(120_000);

  it("the repository has no import cycles, verifier/protocol/ imports only itself, Node and npm, and the daemons keep to their layers", async () => {
    const violations = await cruiseViolations(REPO, ROOTS);
    expect(violations.map(describeViolation)).to.deep.equal([]);
  });

  describe("the rules catch what they name (fixture tree)", () => {
    let dir: string;

    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), "upow-layering-"));
      const put = (file: string, text: string): void => {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), text);
      };
      // Protocol modules reaching up (a value import, a type-only import, a require), and one using
      // only itself, Node and npm.
      put("verifier/engine/hashing.ts", "export const TAG = 1;\n");
      put("verifier/daemon/types.ts", "export interface Facts { n: number }\n");
      put("verifier/chain/rpc.ts", "export const URL = 'x';\n");
      put("verifier/protocol/upward.ts", 'import { TAG } from "../engine/hashing";\nexport const x = TAG;\n');
      put("verifier/protocol/typeOnly.ts", 'import type { Facts } from "../daemon/types";\nexport const f = (x: Facts): number => x.n;\n');
      put("verifier/protocol/required.ts", 'export const url = (require("../chain/rpc") as { URL: string }).URL;\n');
      put(
        "verifier/protocol/clean.ts",
        'import { createHash } from "node:crypto";\nimport { x } from "./upward";\nexport const h = createHash("sha256").update(String(x));\n',
      );
      // A cycle closed only by a type import (erased at run time, still a cycle for readers).
      put("verifier/worker/config.ts", 'import type { Plan } from "./plan";\nexport interface Config { plan?: Plan }\n');
      put(
        "verifier/worker/plan.ts",
        'import { type Config } from "./config";\nexport interface Plan { config?: Config }\nexport const PLAN = 1;\n',
      );
      // The SDK reaching into a daemon, a daemon importing the SDK, and the SDK on a library (allowed).
      put(
        "verifier/sdk/index.ts",
        'import type { Facts } from "../daemon/types";\nimport { TAG } from "../engine/hashing";\nexport const s = (x: Facts): number => x.n + TAG;\n',
      );
      put("verifier/daemon/usesSdk.ts", 'import { s } from "../sdk/index";\nexport const d = s;\n');
      // The dashboard: a daemon importing it (refused), the CLI importing it (allowed); its browser
      // code importing the model as a value (refused), as a type (allowed), and a Node built-in (refused).
      put("verifier/dashboard/model.ts", "export interface View { n: number }\nexport const EMPTY = 0;\n");
      put("verifier/dashboard/server.ts", 'import { EMPTY } from "./model";\nexport const s = EMPTY;\n');
      put("verifier/daemon/peek.ts", 'import { s } from "../dashboard/server";\nexport const p = s;\n');
      put("verifier/cli/dash.ts", 'import { s } from "../dashboard/server";\nexport const c = s;\n');
      // A daemon's config reaching up into the CLI for a default (refused); the CLI using runtime/ (allowed).
      put("verifier/runtime/defaults.ts", "export const POLL = 2000;\n");
      put("verifier/cli/options.ts", 'import { POLL } from "../runtime/defaults";\nexport const o = POLL;\n');
      put("verifier/worker/settings.ts", 'import { o } from "../cli/options";\nexport const w = o;\n');
      // The engine reaching the chain (refused) and protocol (allowed); the store reaching a role (refused).
      put(
        "verifier/engine/onChain.ts",
        'import { URL } from "../chain/rpc";\nimport { x } from "../protocol/upward";\nexport const e = URL + x;\n',
      );
      put("verifier/store/byRole.ts", 'import { w } from "../worker/settings";\nexport const b = w;\n');
      put(
        "verifier/dashboard/client/main.ts",
        'import type { View } from "../model";\nimport { EMPTY } from "../model";\nimport { createHash } from "node:crypto";\nexport const v = (x: View): number => x.n + EMPTY + createHash("sha256").digest().length;\n',
      );
      // A worker service reaching a cheat through a module in between.
      put("verifier/worker/service.ts", 'import { mode } from "./middle";\nexport const m = mode;\n');
      put("verifier/worker/middle.ts", 'import type { CheatMode } from "./cheats";\nexport const mode: CheatMode | null = null;\n');
      put("verifier/worker/cheats.ts", 'export type CheatMode = "skip";\n');
      // The shared runtime reaching up into a daemon, and the two daemons reaching into each other.
      put(
        "verifier/runtime/loop.ts",
        'import { PLAN } from "../worker/plan";\nimport type { Facts } from "../daemon/types";\nexport const n = (f: Facts): number => f.n + PLAN;\n',
      );
      put("verifier/daemon/usesWorker.ts", 'import { PLAN } from "../worker/plan";\nexport const p = PLAN;\n');
      put(
        "verifier/worker/usesDaemon.ts",
        'import type { Facts } from "../daemon/types";\nimport { PLAN } from "./plan";\nimport { n } from "../runtime/loop";\nexport const g = (f: Facts): number => f.n + PLAN + n(f);\n',
      );
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it("protocol-is-bottom flags protocol modules importing from other verifier/ folders (value, type-only, require), and only those", async () => {
      const bottom = (await cruiseViolations(dir, ["verifier"])).filter((v) => v.rule.name === "protocol-is-bottom");
      expect(bottom.map((v) => `${v.from} → ${v.to}`).sort()).to.deep.equal([
        "verifier/protocol/required.ts → verifier/chain/rpc.ts",
        "verifier/protocol/typeOnly.ts → verifier/daemon/types.ts",
        "verifier/protocol/upward.ts → verifier/engine/hashing.ts",
      ]);
    });

    it("sdk-builds-on-libraries and nothing-imports-sdk flag the SDK importing a daemon and a daemon importing the SDK, and only those", async () => {
      const sdk = (await cruiseViolations(dir, ["verifier"])).filter((v) => v.rule.name.includes("sdk"));
      expect(sdk.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort()).to.deep.equal([
        "nothing-imports-sdk: verifier/daemon/usesSdk.ts → verifier/sdk/index.ts",
        "sdk-builds-on-libraries: verifier/sdk/index.ts → verifier/daemon/types.ts",
      ]);
    });

    it("dashboard-is-a-leaf flags a daemon importing the dashboard, not the CLI", async () => {
      const leaf = (await cruiseViolations(dir, ["verifier"])).filter((v) => v.rule.name === "dashboard-is-a-leaf");
      expect(leaf.map((v) => `${v.from} → ${v.to}`)).to.deep.equal(["verifier/daemon/peek.ts → verifier/dashboard/server.ts"]);
    });

    it("dashboard-client-is-browser-code flags the client's value import of the model and a Node built-in, not its type import", async () => {
      const client = (await cruiseViolations(dir, ["verifier"])).filter((v) => v.rule.name === "dashboard-client-is-browser-code");
      expect(client.map((v) => `${v.from} → ${v.to}`).sort()).to.deep.equal([
        "verifier/dashboard/client/main.ts → crypto",
        "verifier/dashboard/client/main.ts → verifier/dashboard/model.ts",
      ]);
    });

    it("runtime-below-daemons flags verifier/runtime/ importing a daemon, and daemons-apart flags the worker and the verifier importing each other, and only those", async () => {
      const all = await cruiseViolations(dir, ["verifier"]);
      const named = (rule: string): string[] =>
        all
          .filter((v) => v.rule.name === rule)
          .map((v) => `${v.from} → ${v.to}`)
          .sort();
      expect(named("runtime-below-daemons")).to.deep.equal([
        "verifier/runtime/loop.ts → verifier/daemon/types.ts",
        "verifier/runtime/loop.ts → verifier/worker/plan.ts",
      ]);
      expect(named("daemons-apart")).to.deep.equal([
        "verifier/daemon/usesWorker.ts → verifier/worker/plan.ts",
        "verifier/worker/usesDaemon.ts → verifier/daemon/types.ts",
      ]);
    });

    it("worker-service-is-honest flags the worker service reaching a cheat module, even through another module", async () => {
      const honest = (await cruiseViolations(dir, ["verifier"])).filter((v) => v.rule.name === "worker-service-is-honest");
      expect(honest.map((v) => `${v.from} → ${v.to}`)).to.deep.equal(["verifier/worker/service.ts → verifier/worker/cheats.ts"]);
    });

    it("cli-is-top flags a daemon importing the CLI, not the CLI importing runtime/", async () => {
      const top = (await cruiseViolations(dir, ["verifier"])).filter((v) => v.rule.name === "cli-is-top");
      expect(top.map((v) => `${v.from} → ${v.to}`)).to.deep.equal(["verifier/worker/settings.ts → verifier/cli/options.ts"]);
    });

    it("engine-is-computation flags the engine importing the chain, not protocol/; io-below-roles flags the store importing a role", async () => {
      const all = await cruiseViolations(dir, ["verifier"]);
      const named = (rule: string): string[] =>
        all
          .filter((v) => v.rule.name === rule)
          .map((v) => `${v.from} → ${v.to}`)
          .sort();
      expect(named("engine-is-computation")).to.deep.equal(["verifier/engine/onChain.ts → verifier/chain/rpc.ts"]);
      expect(named("io-below-roles")).to.deep.equal(["verifier/store/byRole.ts → verifier/worker/settings.ts"]);
    });

    it("no-circular flags a cycle made of type-only imports", async () => {
      const cycles = (await cruiseViolations(dir, ["verifier"])).filter((v) => v.rule.name === "no-circular");
      expect(cycles).to.have.length.greaterThan(0);
      for (const v of cycles) {
        expect([v.from, ...(v.cycle ?? []).map((c) => c.name)]).to.include.members([
          "verifier/worker/config.ts",
          "verifier/worker/plan.ts",
        ]);
      }
    });
  });
});
