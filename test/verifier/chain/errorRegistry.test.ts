import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { Contract, ErrorFragment, Interface, ZeroAddress, ZeroHash, type ParamType } from "ethers";
import type { TestToken } from "../../../typechain-types";
import { Journal } from "../../../verifier/chain/journal";
import { decodeRevertData } from "../../../verifier/chain/revert";
import { collectErrorText } from "../../../verifier/chain/rpc";
import { TxSender, TxSimulationError } from "../../../verifier/chain/tx-sender";
import { captureLogger, fundedWallet, inProcessProvider, tempDir } from "./helpers";

/** Every Hardhat artifact ABI (contracts/, libraries, interfaces, test contracts and @openzeppelin). */
function artifactAbis(): { file: string; iface: Interface }[] {
  const out: { file: string; iface: Interface }[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json") && !e.name.endsWith(".dbg.json")) {
        const abi = (JSON.parse(fs.readFileSync(p, "utf8")) as { abi?: unknown }).abi;
        if (Array.isArray(abi)) out.push({ file: path.relative(root, p), iface: new Interface(abi as string[]) });
      }
    }
  };
  const root = path.join(__dirname, "..", "..", "..", "artifacts");
  for (const top of ["contracts", "@openzeppelin"]) walk(path.join(root, top));
  return out;
}

/** A value of each ABI type (zero / empty), so an error's data can be encoded. */
function sample(t: ParamType): unknown {
  if (t.isArray()) return t.arrayLength > 0 ? Array.from({ length: t.arrayLength }, () => sample(t.arrayChildren)) : [];
  if (t.isTuple()) return t.components.map(sample);
  if (t.baseType === "address") return ZeroAddress;
  if (t.baseType === "bool") return false;
  if (t.baseType === "string") return "";
  if (t.baseType === "bytes") return "0x";
  if (t.baseType.startsWith("bytes")) return ZeroHash.slice(0, 2 + 2 * Number(t.baseType.slice(5)));
  return 0n;
}

describe("chain/errorRegistry", function () {
  it("decodes every custom error of every project ABI (contracts and OpenZeppelin) by name", function () {
    const abis = artifactAbis();
    let errors = 0;
    const seen = new Set<string>();
    for (const { file, iface } of abis) {
      for (const f of iface.fragments) {
        if (!(f instanceof ErrorFragment)) continue;
        errors++;
        seen.add(f.name);
        const data = iface.encodeErrorResult(f, f.inputs.map(sample));
        const decoded = decodeRevertData(data); // no interface given: the registry alone
        expect(decoded.name, `${file}: ${f.format()}`).to.equal(f.name);
      }
    }
    // The artifacts hold our contracts' errors and OZ's: a walk that found none would pass vacuously.
    expect(errors).to.be.greaterThan(150);
    for (const name of [
      "ERC20InsufficientBalance",
      "ERC20InsufficientAllowance",
      "SafeERC20FailedOperation",
      "DisputeManagerAlreadyDisputing",
    ]) {
      expect(seen.has(name), name).to.equal(true);
    }
  });

  it("0xe450d38c is ERC20InsufficientBalance(sender, balance, needed)", function () {
    const data = "0xe450d38c" + "00".repeat(12) + "11".repeat(20) + 5n.toString(16).padStart(64, "0") + 7n.toString(16).padStart(64, "0");
    const d = decodeRevertData(data);
    expect(d.name).to.equal("ERC20InsufficientBalance");
    expect(d.reason).to.equal(`ERC20InsufficientBalance(0x${"11".repeat(20)}, 5, 7)`);
  });

  describe("a real ERC20InsufficientBalance revert on the in-process chain", function () {
    let token: TestToken;
    before(async function () {
      const factory = await hre.ethers.getContractFactory("TestToken");
      token = (await factory.deploy("Bond", "BND")) as unknown as TestToken;
      await token.waitForDeployment();
    });

    it("is logged by name by the TxSender (no interface passed in)", async function () {
      const log = captureLogger();
      const provider = inProcessProvider(log.logger);
      const journal = Journal.open(path.join(tempDir(), "journal.sqlite"));
      try {
        const wallet = await fundedWallet(provider); // ETH, but no tokens
        const sender = await TxSender.create({ signer: wallet, provider, journal, logger: log.logger, pollIntervalMs: 25 });
        const data = token.interface.encodeFunctionData("transfer", ["0x0000000000000000000000000000000000000001", 10n]);
        const err = await sender.send({ key: "bond:1", purpose: "test-bond", to: token.target as string, data }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(TxSimulationError);
        expect((err as TxSimulationError).revert.name).to.equal("ERC20InsufficientBalance");
        expect(log.text()).to.include(`ERC20InsufficientBalance(${wallet.address}, 0, 10)`);
        expect(log.text()).not.to.include("unknown custom error");
      } finally {
        journal.close();
        provider.destroy();
      }
    });

    it("is named in collectErrorText for a plain contract call (the daemons' tick logs)", async function () {
      const log = captureLogger();
      const provider = inProcessProvider(log.logger); // the daemons' provider
      try {
        const poor = await fundedWallet(provider);
        // An interface without the error, as ethers has when a daemon calls one contract and another reverts.
        const bare = new Contract(token.target as string, ["function transfer(address to, uint256 amount) returns (bool)"], poor);
        const err = await bare
          .getFunction("transfer")
          .staticCall("0x0000000000000000000000000000000000000001", 10n)
          .then(
            () => null,
            (e: unknown) => e,
          );
        expect(err).to.not.equal(null);
        expect(collectErrorText(err)).to.include(`reverted: ERC20InsufficientBalance(${poor.address}, 0, 10)`);
      } finally {
        provider.destroy();
      }
    });
  });
});
