import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { InOrder } from "../../../verifier/engine/inOrder";

describe("InOrder", function () {
  it("consumes results in push order, does not wait for a running one until more than maxInFlight are out", async () => {
    const seen: [string, number][] = [];
    const q = new InOrder<string>(2, (v, i) => {
      seen.push([v, i]);
    });
    q.push(sleep(40).then(() => "a"));
    q.push(Promise.resolve("b"));
    await q.drain();
    // "a" still runs and two are out (≤ maxInFlight): nothing consumed, not even the finished "b".
    expect(seen).to.deep.equal([]);
    q.push(Promise.resolve("c"));
    await q.drain();
    // Three out: waits for "a", then takes the finished "b" and "c".
    expect(seen).to.deep.equal([
      ["a", 0],
      ["b", 1],
      ["c", 2],
    ]);
    expect(q.consumed).to.equal(3);
  });

  it("drain(true) waits for all; a failure reaches drain and settle() swallows it", async () => {
    const seen: string[] = [];
    const q = new InOrder<string>(5, (v) => {
      seen.push(v);
    });
    q.push(sleep(10).then(() => "a"));
    q.push(Promise.reject(new Error("worker died")));
    let err: unknown;
    try {
      await q.drain(true);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.equal("worker died");
    expect(seen).to.deep.equal(["a"]);
    await q.settle();
  });
});
