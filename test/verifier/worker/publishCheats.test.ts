import { expect } from "chai";
import { CheatModeError, parseCheatMode } from "../../../verifier/worker/cheats";
import { cheatingPublisher, publisherFor, withholdingPublisher } from "../../../verifier/worker/publishCheats";
import { honestPublisher } from "../../../verifier/worker/publisher";
import { withCheat } from "../../../verifier/worker/adversary";
import { HONEST } from "../../../verifier/worker/behaviour";
import type { BatchSource, StepExecutor } from "../../../verifier/engine/step";

describe("worker/publishCheats (adversarial publishers)", function () {
  it("parses index=<mode> with an optional training cheat and refuses anything else", function () {
    expect(parseCheatMode("index=pretty")).to.deep.equal({ kind: "publish", publish: "pretty", train: null });
    expect(parseCheatMode("index=withhold-steps+skip=1")).to.deep.equal({
      kind: "publish",
      publish: "withhold-steps",
      train: { kind: "skip", fraction: 1 },
    });
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
  it("withhold publishes through a publisher that answers no demand of any kind and serves no state; the others serve states", function () {
    expect(publisherFor({ kind: "withhold" })).to.equal(withholdingPublisher);
    for (const kind of ["checkpoints", "step-leaves", "state-chunk", "batch-chunk"] as const) {
      expect(withholdingPublisher.answers({ jobId: "1", kind, interval: 0 }), kind).to.equal(false);
      expect(honestPublisher.answers({ jobId: "1", kind, interval: 0 }), kind).to.equal(true);
      // Chunk challenges are not an index cheat's business: answered as the honest worker does.
      if (kind.endsWith("chunk"))
        expect(cheatingPublisher("withhold-checkpoints").answers({ jobId: "1", kind, interval: 0 }), kind).to.equal(true);
    }
    expect(withholdingPublisher.servesStates).to.equal(false);
    expect(honestPublisher.servesStates && cheatingPublisher("bad-step-root").servesStates).to.equal(true);
  });
  it("withCheat makes a worker behaviour of a mode (label, decorated executor, publisher); HONEST leaves the executor as it is", async function () {
    const runner: StepExecutor = { step: async (state) => ({ next: new Map(state), loss: 1 }) };
    const batches: BatchSource = async () => new Map();
    const honest = { runner, batches };
    const job = { key: "job", T: 8, k: 2 };
    expect(HONEST.training(honest, job)).to.equal(honest);
    expect(HONEST.publisher).to.equal(honestPublisher);
    expect(HONEST.label).to.equal(null);
    const skip = withCheat({ kind: "skip", fraction: 1 });
    expect(skip.label).to.contain("skip");
    expect(skip.publisher).to.equal(honestPublisher);
    const faked = skip.training(honest, job);
    expect(faked.runner).to.not.equal(runner);
    await faked.batches(0);
    expect((await faked.runner.step(new Map(), new Map(), {})).loss).to.equal(0); // a faked step copies the state (loss 0)
    expect(withCheat({ kind: "withhold" }).publisher).to.equal(withholdingPublisher);
  });
});
