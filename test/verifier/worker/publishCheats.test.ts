import { expect } from "chai";
import { CheatModeError, parseCheatMode } from "../../../verifier/worker/cheats";
import { cheatingPublisher, publisherFor } from "../../../verifier/worker/publishCheats";
import { honestPublisher } from "../../../verifier/worker/publisher";

describe("worker/publishCheats (adversarial publishers)", function () {
  it("parses index=<mode> with an optional training cheat and refuses anything else", function () {
    expect(parseCheatMode("index=pretty")).to.deep.equal({ kind: "publish", publish: "pretty", train: null });
    expect(parseCheatMode("index=withhold-steps+skip=1")).to.deep.equal({ kind: "publish", publish: "withhold-steps", train: { kind: "skip", fraction: 1 } });
    for (const bad of ["index=", "index=ugly", "index=pretty+index=extra-field", "index=pretty+lie", "index=pretty+"]) {
      expect(() => parseCheatMode(bad), bad).to.throw(CheatModeError);
    }
  });
  it("an honest worker (or a training cheat) publishes with the honest publisher", function () {
    expect(publisherFor(null)).to.equal(honestPublisher);
    expect(publisherFor({ kind: "skip", fraction: 1 })).to.equal(honestPublisher);
  });
  it("withhold-checkpoints keeps silent on checkpoint demands only; format cheats answer everything", function () {
    const p = cheatingPublisher("withhold-checkpoints");
    expect(p.answers({ jobId: "1", kind: "checkpoints", interval: 0 })).to.equal(false);
    expect(p.answers({ jobId: "1", kind: "step-leaves", interval: 0 })).to.equal(true);
    const q = cheatingPublisher("pretty");
    expect(q.answers({ jobId: "1", kind: "checkpoints", interval: 0 })).to.equal(true);
    expect(q.answers({ jobId: "1", kind: "step-leaves", interval: 1 })).to.equal(true);
  });
});
