/**
 * README.md's "Separate processes" block and the end-to-end test run the same commands: every
 * command of README_FLOW appears verbatim in the block, and every command line of the block
 * belongs to a step of the flow (nothing the README asks for goes untested).
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { README_FLOW, inTerminal, onPort } from "./readmeFlow";

function separateProcessesBlock(): string {
  const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
  const start = readme.indexOf("## Separate processes");
  expect(start, "README.md has a 'Separate processes' section").to.be.greaterThan(-1);
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const fence = /```bash\n([\s\S]*?)```/.exec(section);
  expect(fence, "the section's fenced bash block").to.not.equal(null);
  return fence![1]!;
}

describe("README separate-process flow = the e2e test's commands", function () {
  const block = separateProcessesBlock();

  for (const s of README_FLOW.steps) {
    it(`README.md shows step ${s.id} verbatim`, function () {
      expect(block).to.include(`${s.command}\n`);
    });
  }

  it("every command line of the README block belongs to a step the test runs", function () {
    const stepLines = new Set(README_FLOW.steps.flatMap((s) => s.command.split("\n")));
    const commands = block.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
    expect(commands.filter((l) => !stepLines.has(l))).to.deep.equal([]);
  });

  it("a test port moves the node and every RPC URL, and nothing else", function () {
    expect(onPort(README_FLOW, "npx hardhat node", 40123)).to.equal("npx hardhat node --port 40123");
    const env = onPort(README_FLOW, inTerminal(README_FLOW, "worker"), 40123);
    expect(env).to.include("UPOW_RPC_URLS=http://127.0.0.1:40123");
    expect(env).to.not.include("8545");
    expect(env.split("\n").at(-1)).to.equal(README_FLOW.steps.find((s) => s.id === "worker")!.command);
  });

  it("later terminals start with the env line; the chain and the deploy do not need it", function () {
    expect(inTerminal(README_FLOW, "verifier-3").split("\n")[0]).to.match(/^export UPOW_KEYSTORE_PASSWORD=/);
    expect(inTerminal(README_FLOW, "chain")).to.equal("npx hardhat node");
    expect(inTerminal(README_FLOW, "deploy")).to.equal("npx hardhat run scripts/deploy.ts --network localhost");
  });
});
