import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Journal } from "../../../verifier/chain/journal";
import { WorkerState } from "../../../verifier/worker/workerState";

describe("WorkerState", function () {
  let dir: string;
  let journal: Journal;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-wstate-"));
    journal = Journal.open(path.join(dir, "journal.sqlite"));
  });
  afterEach(function () {
    journal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a refusal a journal recorded as "rejected" (before the rename) as "declined"', function () {
    journal.kv.put("worker:job:7", JSON.stringify({ jobId: "7", phase: "rejected", specURI: "x", reason: "price-too-low", updatedAt: 1 }));
    journal.kv.put("worker:jobs", JSON.stringify(["7"]));
    const state = new WorkerState(journal.kv);
    expect(state.job(7n)).to.include({ phase: "declined", reason: "price-too-low" });
    expect(state.jobs().map((j) => j.phase)).to.deep.equal(["declined"]);
    state.putJob({ jobId: "8", phase: "declined", specURI: "y" });
    expect(state.job("8")?.phase).to.equal("declined");
  });
});
