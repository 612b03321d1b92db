/**
 * The TS enums of verifier/protocol/enums.ts against the compiled contracts: the EnumDefinition
 * nodes of the solc AST in artifacts/build-info (what the ABI's uint8 values index; `hardhat test`
 * compiles first, so they are the current sources). A member added, removed, renamed or reordered
 * in a contract fails here before a log, a status report or a decision reads a wrong value.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ENUMS, Ruling, enumName, jobStatusName, phaseName, rulingName, type EnumTable } from "../../../verifier/protocol/enums";
import { Vote } from "../../../verifier/engine/tolerance";

const BUILD_INFO = path.resolve(__dirname, "..", "..", "..", "artifacts", "build-info");

/**
 * Enums of contracts/ that no off-chain code reads, with why. Any other enum declared in contracts/
 * must be in ENUMS, so a new one is not copied by hand somewhere.
 */
const NOT_OFF_CHAIN: Readonly<Record<string, string>> = {
  "DisputeJury.RoundOutcome": "a library's internal return value to the manager, never in an ABI, event or getter",
};

interface AstNode {
  readonly nodeType?: string;
  readonly canonicalName?: string;
  readonly members?: readonly { readonly name: string }[];
  readonly [key: string]: unknown;
}

/**
 * The build-info files that hold each source's current compilation, from the artifacts' `.dbg.json`
 * pointers. An incremental compile leaves older build-info files behind for the sources it did not
 * recompile; an enum moved out of a contract would still be found there.
 */
function currentBuildInfo(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".dbg.json")) {
        const source = path.relative(path.join(BUILD_INFO, ".."), path.dirname(p));
        const { buildInfo } = JSON.parse(fs.readFileSync(p, "utf8")) as { buildInfo: string };
        const file = path.basename(buildInfo);
        if (!out.has(file)) out.set(file, new Set());
        out.get(file)!.add(source.split(path.sep).join("/"));
      }
    }
  };
  walk(path.join(BUILD_INFO, "..", "contracts"));
  return out;
}

/** `canonicalName → member names` of every enum declared under contracts/ (test harnesses excepted). */
function compiledEnums(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const current = currentBuildInfo();
  expect(current.size, `no artifacts in ${path.join(BUILD_INFO, "..")}: compile first`).to.be.greaterThan(0);
  for (const [file, sources] of current) {
    const info = JSON.parse(fs.readFileSync(path.join(BUILD_INFO, file), "utf8")) as {
      output: { sources: Record<string, { ast: AstNode }> };
    };
    for (const [source, { ast }] of Object.entries(info.output.sources)) {
      if (!sources.has(source) || source.startsWith("contracts/test/")) continue;
      for (const node of enumDefinitions(ast)) {
        out.set(
          node.canonicalName!,
          node.members!.map((m) => m.name),
        );
      }
    }
  }
  return out;
}

function* enumDefinitions(node: unknown): Generator<AstNode> {
  if (Array.isArray(node)) {
    for (const n of node) yield* enumDefinitions(n);
  } else if (node !== null && typeof node === "object") {
    const n = node as AstNode;
    if (n.nodeType === "EnumDefinition") yield n;
    for (const v of Object.values(n)) if (typeof v === "object") yield* enumDefinitions(v);
  }
}

/** How a TS table differs from the Solidity members (empty: same names, value = declaration index). */
function enumDrift(table: EnumTable, members: readonly string[]): string[] {
  const problems: string[] = [];
  members.forEach((name, i) => {
    if (table[name] === undefined) problems.push(`${name} (= ${i}) missing`);
    else if (table[name] !== i) problems.push(`${name} is ${table[name]}, the contract's is ${i}`);
  });
  for (const name of Object.keys(table)) if (!members.includes(name)) problems.push(`${name} is not in the contract`);
  return problems;
}

describe("protocol enums match the compiled contracts", function () {
  let compiled: Map<string, string[]>;
  before(() => {
    compiled = compiledEnums();
  });

  for (const [key, table] of Object.entries(ENUMS)) {
    it(`${key}: same members, values in declaration order`, function () {
      const members = compiled.get(key);
      expect(members, `enum ${key} not found in the compiled contracts`).to.not.equal(undefined);
      expect(enumDrift(table, members!)).to.deep.equal([]);
    });
  }

  it("every enum of contracts/ is in ENUMS or named as unused off chain", function () {
    const missing = [...compiled.keys()].filter((k) => !(k in ENUMS) && !(k in NOT_OFF_CHAIN));
    expect(missing).to.deep.equal([]);
    for (const k of Object.keys(NOT_OFF_CHAIN))
      expect(compiled.has(k), `${k} is no longer declared: drop it from NOT_OFF_CHAIN`).to.equal(true);
  });

  it("a reordered, renamed or extended Solidity enum is reported", function () {
    const table = { None: 0, Open: 1, Closed: 2 };
    expect(enumDrift(table, ["None", "Open", "Closed"])).to.deep.equal([]);
    expect(enumDrift(table, ["None", "Closed", "Open"])).to.deep.equal([
      "Closed is 2, the contract's is 1",
      "Open is 1, the contract's is 2",
    ]);
    expect(enumDrift(table, ["None", "Open", "Shut"])).to.deep.equal(["Shut (= 2) missing", "Closed is not in the contract"]);
    expect(enumDrift(table, ["None", "Open", "Closed", "Void"])).to.deep.equal(["Void (= 3) missing"]);
  });

  it("the juror votes of engine/tolerance.ts are the rulings 1..3", function () {
    expect(Vote).to.deep.equal({ WorkerFault: Ruling.WorkerFault, WorkerHonest: Ruling.WorkerHonest, Indeterminate: Ruling.Indeterminate });
  });

  it("names values, bigint or number, and an unknown value without throwing", function () {
    expect(jobStatusName(5n)).to.equal("Rejected");
    expect(phaseName(3)).to.equal("Voting");
    expect(rulingName(1n)).to.equal("WorkerFault");
    expect(enumName({ A: 0 }, 9n)).to.equal("Unknown(9)");
  });
});
