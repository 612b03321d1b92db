import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { CheckpointWriter } from "../../../verifier/engine/checkpointWriter";

describe("CheckpointWriter", function () {
  it("runs tasks one at a time in the order they were queued, however long each takes", async () => {
    const w = new CheckpointWriter(10);
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      return name;
    };
    const results = [w.run(task("a", 30)), w.run(task("b", 1)), w.run(task("c", 10))];
    expect(await Promise.all(results)).to.deep.equal(["a", "b", "c"]);
    expect(log).to.deep.equal(["start a", "end a", "start b", "end b", "start c", "end c"]);
    await w.drain();
  });

  it("room() waits until fewer than maxQueued tasks are queued", async () => {
    const w = new CheckpointWriter(2);
    let finished = 0;
    for (let i = 0; i < 3; i++)
      void w.run(async () => {
        await sleep(20);
        finished++;
      });
    await w.room();
    // Three queued, room for fewer than two: the first two must have finished.
    expect(finished).to.be.at.least(2);
    await w.drain();
    expect(finished).to.equal(3);
  });

  it("keeps the first failure: later tasks do not run, room() and drain() throw it, settle() does not", async () => {
    const w = new CheckpointWriter(10);
    const boom = new Error("disk full");
    let ranAfter = false;
    const failed = w.run(async () => {
      throw boom;
    });
    const later = w.run(async () => {
      ranAfter = true;
    });
    let e1: unknown;
    try {
      await failed;
    } catch (e) {
      e1 = e;
    }
    expect(e1).to.equal(boom);
    let e2: unknown;
    try {
      await later;
    } catch (e) {
      e2 = e;
    }
    expect(e2).to.equal(boom);
    expect(ranAfter).to.equal(false);
    for (const f of [() => w.room(), () => w.drain()]) {
      let e: unknown;
      try {
        await f();
      } catch (x) {
        e = x;
      }
      expect(e).to.equal(boom);
    }
    await w.settle();
  });
});
