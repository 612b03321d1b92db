import { expect } from "chai";
import { AbiCoder, Interface } from "ethers";
import { decodeRevertData } from "../../../verifier/chain/revert";

describe("chain/revert decodeRevertData", function () {
  const coder = AbiCoder.defaultAbiCoder();
  const iface = new Interface(["error Thing(uint256 id, address who)"]);

  it("decodes Error(string), Panic(uint256) and custom errors", function () {
    expect(decodeRevertData("0x08c379a0" + coder.encode(["string"], ["nope"]).slice(2))).to.include({ name: "Error", reason: "nope" });
    expect(decodeRevertData("0x4e487b71" + coder.encode(["uint256"], [0x11]).slice(2))).to.include({
      name: "Panic",
      reason: "Panic(0x11)",
    });
    const who = "0x00000000000000000000000000000000000000AA";
    const data = iface.encodeErrorResult("Thing", [5, who]);
    const d = decodeRevertData(data, [iface]);
    expect(d).to.include({ name: "Thing", reason: `Thing(5, ${who})` });
    expect(d.args).to.deep.equal([5n, who]);
  });

  it("reports unknown, empty and malformed data without throwing", function () {
    const data = iface.encodeErrorResult("Thing", [5, "0x00000000000000000000000000000000000000aa"]);
    expect(decodeRevertData(data).reason).to.equal(`unknown custom error ${data.slice(0, 10)}`);
    expect(decodeRevertData("0x").reason).to.equal("reverted without data");
    expect(decodeRevertData("0x08c379a0dead").reason).to.equal("malformed Error revert data");
    expect(decodeRevertData("zz").reason).to.match(/unrecognised/);
  });
});
