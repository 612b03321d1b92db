/**
 * The SDK's `as const` ABIs (verifier/sdk/abis.generated.ts) are what the Hardhat artifacts say,
 * and viem infers real types from them: the type assertions below fail `tsc` (npm run lint) if a
 * function's arguments or results fall back to unknown/any.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ContractFunctionArgs, ContractFunctionReturnType, ContractEventArgs } from "viem";
import { erc20Abi, jobMarketAbi, auditManagerAbi, disputeManagerAbi } from "../../verifier/sdk/abis.generated";

const ROOT = path.join(__dirname, "..", "..");
const artifactAbi = (rel: string): unknown => JSON.parse(fs.readFileSync(path.join(ROOT, "artifacts", rel), "utf8")).abi;

/** Compile-time equality: `true` only when A and B are the same type (any is not). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typed: [
  Equal<ContractFunctionReturnType<typeof jobMarketAbi, "view", "getJob">["status"], number>,
  Equal<ContractFunctionArgs<typeof jobMarketAbi, "nonpayable", "cancelJob">, readonly [bigint]>,
  Equal<ContractFunctionReturnType<typeof erc20Abi, "view", "balanceOf">, bigint>,
  Equal<ContractEventArgs<typeof jobMarketAbi, "JobCreated">["jobId"], bigint | readonly bigint[] | null | undefined>,
] = [true, true, true, true];

describe("SDK ABIs (as const, generated from the artifacts)", function () {
  it("scripts/gen-abis.js --check: the committed file is what the current artifacts give", function () {
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "gen-abis.js"), "--check"], { encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
  });

  it("each ABI equals its artifact's", function () {
    expect(jobMarketAbi).to.deep.equal(artifactAbi("contracts/JobMarket.sol/JobMarket.json"));
    expect(auditManagerAbi).to.deep.equal(artifactAbi("contracts/AuditManager.sol/AuditManager.json"));
    expect(disputeManagerAbi).to.deep.equal(artifactAbi("contracts/DisputeManager.sol/DisputeManager.json"));
    expect(erc20Abi).to.deep.equal(artifactAbi("@openzeppelin/contracts/token/ERC20/IERC20.sol/IERC20.json"));
    expect(typed).to.deep.equal([true, true, true, true]);
  });

  it("--check fails on a stale file and says how to fix it", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-abis-"));
    const stale = path.join(dir, "abis.generated.ts");
    try {
      const current = fs.readFileSync(path.join(ROOT, "verifier", "sdk", "abis.generated.ts"), "utf8");
      fs.writeFileSync(stale, current.replace('"name": "cancelJob"', '"name": "cancelJobRenamed"'));
      const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "gen-abis.js"), "--check", stale], { encoding: "utf8" });
      expect(r.status).to.equal(1);
      expect(r.stderr).to.match(/stale; run `npm run gen:abis`/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
