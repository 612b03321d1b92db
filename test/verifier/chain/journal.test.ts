import { expect } from "chai";
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import { IntentConflictError, IntentNotFoundError, Journal, JournalError } from "../../../verifier/chain/journal";
import { tempDir } from "./helpers";

const TO = "0x00000000000000000000000000000000000000aa";
const FROM = "0x00000000000000000000000000000000000000Bb";

function attempt(key: string, nonce: number, hash: string) {
  return {
    intentKey: key,
    hash,
    from: FROM,
    nonce,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    gasLimit: 50_000n,
    rawTx: "0x02f8",
  };
}

describe("chain/journal", function () {
  let file: string;
  let journal: Journal;
  beforeEach(function () {
    file = path.join(tempDir(), "sub", "journal.sqlite");
    journal = Journal.open(file);
  });
  afterEach(function () {
    journal.close();
  });

  it("uses WAL and synchronous=FULL", function () {
    journal.close();
    // Re-open and read the pragmas through a fresh connection.
    const db = new Database(file);
    expect(db.pragma("journal_mode", { simple: true })).to.equal("wal");
    db.close();
    journal = Journal.open(file);
  });

  describe("recordIntent", function () {
    it("is idempotent by key", function () {
      const first = journal.recordIntent({ key: "vote:commit:1:0", purpose: "vote-commit", to: TO, data: "0xAB", value: 5n });
      expect(first.created).to.equal(true);
      expect(first.record).to.include({ state: "pending", to: TO, data: "0xab", value: 5n, purpose: "vote-commit" });
      const second = journal.recordIntent({ key: "vote:commit:1:0", purpose: "vote-commit", to: TO, data: "0xab", value: 5n });
      expect(second.created).to.equal(false);
      expect(journal.listIntents()).to.have.length(1);
    });

    it("refuses the same key with different contents", function () {
      journal.recordIntent({ key: "k", purpose: "p", to: TO, data: "0x01" });
      expect(() => journal.recordIntent({ key: "k", purpose: "p", to: TO, data: "0x02" })).to.throw(IntentConflictError);
    });

    it("refuses malformed intents with a clear error", function () {
      expect(() => journal.recordIntent({ key: "", purpose: "p", to: TO, data: "0x" })).to.throw(JournalError, /key/);
      expect(() => journal.recordIntent({ key: "k", purpose: "p", to: "0x12", data: "0x" })).to.throw(JournalError, /to/);
      expect(() => journal.recordIntent({ key: "k", purpose: "p", to: TO, data: "0x1" })).to.throw(JournalError, /data/);
      expect(() => journal.recordIntent({ key: "k", purpose: "p", to: TO, data: "0x", value: -1n })).to.throw(JournalError, /value/);
    });
  });

  describe("state transitions", function () {
    it("intent → sent (attempts, nonce) → mined, durable across reopen", function () {
      journal.recordIntent({ key: "k1", purpose: "p", to: TO, data: "0x" });
      journal.recordAttempt(attempt("k1", 7, "0x01"));
      journal.recordAttempt({ ...attempt("k1", 7, "0x02"), maxFeePerGas: 3_000_000_000n });
      expect(journal.getNextNonce(FROM)).to.equal(8);
      journal.close();

      journal = Journal.open(file);
      const sent = journal.getIntent("k1");
      expect(sent).to.include({ state: "sent", txHash: "0x02", nonce: 7, from: FROM.toLowerCase(), maxFeePerGas: 3_000_000_000n });
      expect(journal.attempts("k1").map((a) => a.hash)).to.deep.equal(["0x01", "0x02"]);
      expect(journal.listIntents({ state: "sent", from: FROM })).to.have.length(1);
      journal.markMined("k1", { hash: "0x01", status: 1, blockNumber: 12, blockHash: "0xbb", gasUsed: 21_000n });
      journal.close();

      journal = Journal.open(file);
      expect(journal.getIntent("k1")).to.include({ state: "mined", txHash: "0x01", status: 1, blockNumber: 12, gasUsed: 21_000n });
      expect(() => journal.recordAttempt(attempt("k1", 8, "0x03"))).to.throw(JournalError, /mined/);
      expect(() => journal.markFailed("k1", "x")).to.throw(IntentNotFoundError);
    });

    it("failed keeps the reason; a later attempt clears it", function () {
      journal.recordIntent({ key: "k2", purpose: "p", to: TO, data: "0x" });
      journal.markFailed("k2", "simulation: nope");
      expect(journal.getIntent("k2")).to.include({ state: "failed", failure: "simulation: nope" });
      journal.recordAttempt(attempt("k2", 0, "0x09"));
      expect(journal.getIntent("k2")).to.include({ state: "sent", failure: null });
    });

    it("an attempt for an unknown intent is an error", function () {
      expect(() => journal.recordAttempt(attempt("nope", 0, "0x0a"))).to.throw(IntentNotFoundError);
    });

    it("next nonce only grows through attempts; setNextNonce overrides", function () {
      journal.recordIntent({ key: "a", purpose: "p", to: TO, data: "0x" });
      journal.recordAttempt(attempt("a", 5, "0x10"));
      journal.recordIntent({ key: "b", purpose: "p", to: TO, data: "0x" });
      journal.recordAttempt(attempt("b", 3, "0x11"));
      expect(journal.getNextNonce(FROM)).to.equal(6);
      journal.setNextNonce(FROM, 4);
      expect(journal.getNextNonce(FROM)).to.equal(4);
    });
  });

  describe("kv", function () {
    it("stores, overwrites, deletes, and survives reopen", function () {
      journal.kv.put("salt:vote:1", "0x1234");
      journal.kv.put("cursor:x", "1");
      journal.kv.put("cursor:x", "2");
      journal.kv.delete("nothing");
      journal.close();
      journal = Journal.open(file);
      expect(journal.kv.get("salt:vote:1")).to.equal("0x1234");
      expect(journal.kv.get("cursor:x")).to.equal("2");
      journal.kv.delete("cursor:x");
      expect(journal.kv.get("cursor:x")).to.equal(undefined);
    });

    it("a put is visible to another connection immediately (committed on return)", function () {
      journal.kv.put("k", "v");
      const other = Journal.open(file);
      try {
        expect(other.kv.get("k")).to.equal("v");
      } finally {
        other.close();
      }
    });
  });

  it("reports an unopenable path as JournalError", function () {
    const dir = tempDir();
    const blocker = path.join(dir, "a-file");
    fs.writeFileSync(blocker, "x");
    expect(() => Journal.open(path.join(blocker, "journal.sqlite"))).to.throw(JournalError, /could not open/);
  });
});
