import { expect } from "chai";
import { DeployConfigError } from "../../scripts/lib/errors";
import { assertRandomnessAllowed, chainLabel, TEST_CHAIN_IDS, type RandomnessSource } from "../../scripts/lib/randomness";

/** The DeployConfigError that `f` throws (fails the test when it throws none, or another). */
function configError(f: () => void): DeployConfigError {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(DeployConfigError);
    return e as DeployConfigError;
  }
  return expect.fail("expected a DeployConfigError");
}

describe("deploy config: randomness sources per chain (v3 V3.5)", function () {
  it("allows blockhash on the local test chains only", function () {
    expect(TEST_CHAIN_IDS).to.deep.equal([31337n, 1337n]);
    for (const chainId of TEST_CHAIN_IDS) assertRandomnessAllowed(chainId, "blockhash");
  });

  it("refuses blockhash elsewhere, naming the network", function () {
    const e = configError(() => assertRandomnessAllowed(1n, "blockhash"));
    expect(e.shortMessage).to.match(/^chain 1 \(Ethereum mainnet\): blockhash randomness is for local test chains/);
    expect(e.details).to.deep.equal({ chainId: "1", source: "blockhash" });
    expect(configError(() => assertRandomnessAllowed(8453n, "blockhash")).message).to.match(/chain 8453 \(Base\)/);
    expect(configError(() => assertRandomnessAllowed(424242n, "blockhash")).message).to.match(/^chain 424242: blockhash/);
  });

  it("refuses prevrandao on a known L2 and l1origin on a known L1", function () {
    expect(configError(() => assertRandomnessAllowed(10n, "prevrandao")).message).to.match(
      /chain 10 \(OP Mainnet\): prevrandao randomness is for L1 only/,
    );
    expect(configError(() => assertRandomnessAllowed(11155111n, "l1origin")).message).to.match(
      /chain 11155111 \(Sepolia\): l1origin randomness needs an L2/,
    );
  });

  it("allows the sources that fit the chain, and any but blockhash on an unknown chain", function () {
    const allowed: [bigint, RandomnessSource][] = [
      [1n, "prevrandao"],
      [1n, "vrf"],
      [1n, "external"],
      [8453n, "l1origin"],
      [8453n, "vrf"],
      [42161n, "external"],
      [424242n, "prevrandao"],
      [424242n, "l1origin"],
      [424242n, "vrf"],
      [424242n, "external"],
      [31337n, "prevrandao"],
      [31337n, "l1origin"],
    ];
    for (const [chainId, source] of allowed) assertRandomnessAllowed(chainId, source);
  });

  it("labels chains by id and, when known, by name", function () {
    expect(chainLabel(42161n)).to.equal("chain 42161 (Arbitrum One)");
    expect(chainLabel(7n)).to.equal("chain 7");
  });
});
