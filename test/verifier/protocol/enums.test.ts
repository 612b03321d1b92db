/**
 * The TS enums of verifier/protocol/enums.ts against the Solidity declarations in contracts/: a
 * member added, removed or reordered in a contract fails here before a log or a status report
 * prints a wrong name.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ENUMS, enumName, jobStatusName, phaseName, rulingName } from "../../../verifier/protocol/enums";

const CONTRACTS = path.resolve(__dirname, "..", "..", "..", "contracts");

/** `enum Name { A, B, // comment \n C }` bodies of one Solidity file, comments stripped. */
function parseSolidityEnums(source: string): Map<string, string[]> {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/\benum\s+(\w+)\s*\{([^}]*)\}/g)) {
    out.set(m[1], m[2].split(",").map((s) => s.trim()).filter((s) => s.length > 0));
  }
  return out;
}

function solidityFile(contract: string): string {
  for (const dir of ["interfaces", "."]) {
    const f = path.join(CONTRACTS, dir, `${contract}.sol`);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(`no contracts/**/${contract}.sol`);
}

describe("protocol enums match the contracts", function () {
  for (const [key, table] of Object.entries(ENUMS)) {
    it(`${key}: same members in the same order`, function () {
      const [contract, name] = key.split(".");
      const declared = parseSolidityEnums(fs.readFileSync(solidityFile(contract), "utf8")).get(name);
      expect(declared, `enum ${name} not found in ${contract}.sol`).to.not.equal(undefined);
      const ours = Object.entries(table).sort((a, b) => a[1] - b[1]).map(([n]) => n);
      expect(ours).to.deep.equal(declared);
      expect(Object.values(table).sort((a, b) => a - b)).to.deep.equal(declared!.map((_, i) => i));
    });
  }

  it("the parser sees through comments and finds a reordering", function () {
    const src = "enum E {\n  None, // zero\n  /* block */ B,\n  A\n}";
    expect(parseSolidityEnums(src).get("E")).to.deep.equal(["None", "B", "A"]);
  });

  it("names values, bigint or number, and an unknown value without throwing", function () {
    expect(jobStatusName(5n)).to.equal("Rejected");
    expect(phaseName(3)).to.equal("Voting");
    expect(rulingName(1n)).to.equal("WorkerFault");
    expect(enumName({ A: 0 }, 9n)).to.equal("Unknown(9)");
  });
});
