import { expect } from "chai";
import { captureLogger } from "./helpers";
import { errorRegistry } from "../../../verifier/chain/errorRegistry";
import { classifyFailure, FAILURE_TABLE } from "../../../verifier/chain/failurePolicy";
import { FailureTracker } from "../../../verifier/chain/failures";
import { evaluateHealth } from "../../../verifier/chain/health";

interface Line {
  level: number;
  msg: string;
  failuresInARow?: number;
  retryInMs?: number;
}

describe("chain/failurePolicy and failures", function () {
  describe("the classification table", function () {
    it("lists only real project errors (a typo would never match)", function () {
      const known = new Set<string>();
      errorRegistry().forEachError((f) => known.add(f.name));
      for (const name of FAILURE_TABLE.keys()) expect(known.has(name), name).to.equal(true);
    });

    it("superseded: done by someone else, nothing left to withdraw, window closed, state moved on", function () {
      for (const n of [
        "DisputeManagerAlreadyDisputing",
        "AuditManagerNothingToWithdraw",
        "DisputeManagerDeadlinePassed",
        "JobMarketWrongStatus",
      ]) {
        expect(classifyFailure(n), n).to.equal("superseded");
      }
    });

    it("early: the window or the randomness is not there yet", function () {
      for (const n of ["AuditManagerWindowOpen", "DisputeManagerRandomnessNotReady", "BlockhashRandomnessNotMined"])
        expect(classifyFailure(n), n).to.equal("early");
    });

    it("fault: funds, stake, bad input, unknown errors and non-revert failures", function () {
      for (const n of [
        "ERC20InsufficientBalance",
        "StakeManagerInsufficientFreeStake",
        "DisputeManagerInvalidProof",
        "TxBroadcastError",
        "Panic",
        undefined,
      ]) {
        expect(classifyFailure(n), String(n)).to.equal("fault");
      }
    });
  });

  describe("FailureTracker", function () {
    let now = 0;
    const intent = { purpose: "dispute-open", key: "dispute-open:1:3" };
    const make = () => {
      now = 0;
      const counted: [string, string][] = [];
      const log = captureLogger();
      const t = new FailureTracker({ baseDelayMs: 2_000, now: () => now, onFailure: (p, r) => counted.push([p, r]) });
      const lines = () => log.lines.map((l) => JSON.parse(l) as Line);
      return { t, log: log.logger, lines, counted };
    };

    it("backs off exponentially from the poll interval to the 5 min cap; warns, then errors from the 5th failure in a row", function () {
      const { t, log, lines, counted } = make();
      const delays: number[] = [];
      for (let i = 0; i < 10; i++) {
        expect(t.gate(intent).kind).to.equal("go");
        t.failed(intent, "ERC20InsufficientBalance(0xabc, 0, 10)", "ERC20InsufficientBalance", log);
        const g = t.gate(intent);
        if (g.kind !== "backoff") throw new Error("expected backoff");
        delays.push(g.untilMs - now);
        now = g.untilMs;
      }
      expect(delays).to.deep.equal([2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]);
      expect(lines().map((l) => l.level)).to.deep.equal([40, 40, 40, 40, 50, 50, 50, 50, 50, 50]);
      expect(counted).to.have.length(10);
      expect(counted[0]).to.deep.equal(["dispute-open", "ERC20InsufficientBalance"]);
      expect(t.failingPurposes()).to.deep.equal([
        { purpose: "dispute-open", failuresInARow: 10, lastReason: "ERC20InsufficientBalance(0xabc, 0, 10)" },
      ]);
    });

    it("escalates a purpose whose intents (one per block) each fail once", function () {
      const { t, log, lines } = make();
      for (let i = 0; i < 6; i++) t.failed({ purpose: "withdraw", key: `withdraw:dm:${i}` }, "TxBroadcastError", "TxBroadcastError", log);
      expect(lines().map((l) => l.level)).to.deep.equal([40, 40, 40, 40, 50, 50]);
      expect(t.failingPurposes().map((f) => f.purpose)).to.deep.equal(["withdraw"]);
    });

    it("a success resets the intent and its purpose", function () {
      const { t, log } = make();
      for (let i = 0; i < 5; i++) t.failed(intent, "x", undefined, log);
      expect(t.failingPurposes()).to.have.length(1);
      t.succeeded(intent);
      expect(t.gate(intent).kind).to.equal("go");
      expect(t.failingPurposes()).to.deep.equal([]);
    });

    it("a superseded revert holds the intent back, logged once at info, not a health failure", function () {
      const { t, log, lines } = make();
      expect(t.failed(intent, "DisputeManagerAlreadyDisputing(1, 3, 0x1, 2)", "DisputeManagerAlreadyDisputing", log)).to.equal(
        "superseded",
      );
      expect(t.gate(intent)).to.deep.equal({ kind: "superseded", reason: "DisputeManagerAlreadyDisputing(1, 3, 0x1, 2)" });
      expect(lines()).to.have.length(1);
      expect(lines()[0]).to.include({ level: 30 });
      expect(lines()[0]!.msg).to.match(/^superseded/);
      expect(t.failingPurposes()).to.deep.equal([]);
      // Another key of the same purpose is unaffected.
      expect(t.gate({ ...intent, key: "dispute-open:1:4" }).kind).to.equal("go");
    });

    it("a superseded intent is re-checked on a doubling schedule up to the cap (WrongPhase may mean 'not yet'; a reopened job or a new round makes it valid again), with one info line", function () {
      const { t, log, lines } = make();
      const holds: number[] = [];
      for (let i = 0; i < 12; i++) {
        t.failed(intent, "DisputeManagerWrongPhase(3, 2)", "DisputeManagerWrongPhase", log);
        const g = t.gate(intent);
        if (g.kind !== "superseded") throw new Error(`expected a hold, got ${g.kind}`);
        const start = now;
        while (t.gate(intent).kind === "superseded") now += 1_000;
        holds.push(now - start);
      }
      expect(holds.slice(0, 4)).to.deep.equal([2_000, 4_000, 8_000, 16_000]);
      expect(holds.at(-1)).to.equal(300_000);
      expect(lines().filter((l) => l.level === 30)).to.have.length(1);
      expect(t.failingPurposes()).to.deep.equal([]);
      t.succeeded(intent);
      expect(t.gate(intent).kind).to.equal("go");
    });

    it("an early revert is retried on the next poll and never counted", function () {
      const { t, log, lines, counted } = make();
      for (let i = 0; i < 8; i++) t.failed(intent, "AuditManagerWindowOpen(1, 99)", "AuditManagerWindowOpen", log);
      expect(t.gate(intent).kind).to.equal("go");
      expect(counted).to.deep.equal([]);
      expect(t.failingPurposes()).to.deep.equal([]);
      expect(lines().every((l) => l.level === 20)).to.equal(true);
    });
  });

  describe("evaluateHealth", function () {
    const head = { block: 10, timestamp: 1_000 };
    it("ok with a fresh head and no persistent failure", function () {
      expect(evaluateHealth({ head, nowMs: 1_100_000, maxHeadAgeSec: 300, failing: [] }).ok).to.equal(true);
    });
    it("fails on a stale head, naming its age", function () {
      const h = evaluateHealth({ head, nowMs: 1_301_000, maxHeadAgeSec: 300, failing: [] });
      expect(h.ok).to.equal(false);
      expect(String((h.details?.causes as string[])[0])).to.match(/chain head is stale: block 10 is 301 s old \(max 300 s\)/);
    });
    it("fails before any head was seen", function () {
      expect(evaluateHealth({ head: undefined, nowMs: 0, maxHeadAgeSec: 300, failing: [] }).ok).to.equal(false);
    });
    it("fails on a persistently failing purpose, naming it and its reason", function () {
      const h = evaluateHealth({
        head,
        nowMs: 1_000_000,
        maxHeadAgeSec: 300,
        failing: [{ purpose: "claim", failuresInARow: 5, lastReason: "ERC20InsufficientBalance(0x1, 0, 1)" }],
      });
      expect(h.ok).to.equal(false);
      expect((h.details?.causes as string[])[0]).to.equal(
        'transactions of purpose "claim" failed 5 times in a row: ERC20InsufficientBalance(0x1, 0, 1)',
      );
    });
  });
});
