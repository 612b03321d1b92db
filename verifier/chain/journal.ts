import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { createPrivateFile, ensurePrivateFile, PRIVATE_DIR_MODE } from "./privateFiles";

/**
 * Durable SQLite journal of transaction intents and their broadcast attempts, plus a small
 * key-value table (event cursors, vote salts). WAL + synchronous=FULL: a write has reached the
 * disk when the call returns, so "journal before broadcast" survives a crash. The salts in it are
 * secrets until revealed: its directory is 0700 and the file (with -wal and -shm) 0600 (V8.5).
 *
 * Intent lifecycle: pending (recorded) → sent (signed tx stored, maybe broadcast) →
 * mined (status 1 success / 0 reverted) | failed (never mined; may be sent again).
 */

export type IntentState = "pending" | "sent" | "mined" | "failed";

export interface IntentInput {
  /** Caller-chosen unique key, e.g. `vote:commit:<disputeId>:<round>`. */
  key: string;
  /** Short tag for logs and metrics, e.g. `vote-commit`. */
  purpose: string;
  to: string;
  data: string;
  /** @default 0n */
  value?: bigint;
}

export interface IntentRecord {
  key: string;
  purpose: string;
  from: string | null;
  to: string;
  data: string;
  value: bigint;
  state: IntentState;
  /** Hash of the latest attempt, or of the mined attempt once mined. */
  txHash: string | null;
  nonce: number | null;
  maxFeePerGas: bigint | null;
  maxPriorityFeePerGas: bigint | null;
  gasLimit: bigint | null;
  /** 1 success, 0 reverted; set once mined. */
  status: number | null;
  blockNumber: number | null;
  blockHash: string | null;
  gasUsed: bigint | null;
  failure: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface TxAttempt {
  intentKey: string;
  hash: string;
  from: string;
  nonce: number;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  gasLimit: bigint;
  rawTx: string;
  createdAt: number;
}

export interface MinedInfo {
  hash: string;
  status: number;
  blockNumber: number;
  blockHash: string;
  gasUsed: bigint;
}

/** Durable string key-value store (`put` is on disk when it returns). */
export interface KeyValueStore {
  get(key: string): string | undefined;
  put(key: string, value: string): void;
  delete(key: string): void;
}

export class JournalError extends UPowError {
  override readonly name: string = "JournalError";
}

/** The same intent key was recorded before with a different to/data/value. */
export class IntentConflictError extends JournalError {
  override readonly name: string = "IntentConflictError";
}

export class IntentNotFoundError extends JournalError {
  override readonly name: string = "IntentNotFoundError";
}

interface IntentRow {
  key: string;
  purpose: string;
  from_addr: string | null;
  to_addr: string;
  data: string;
  value: string;
  state: IntentState;
  tx_hash: string | null;
  nonce: number | null;
  max_fee: string | null;
  max_priority_fee: string | null;
  gas_limit: string | null;
  status: number | null;
  block_number: number | null;
  block_hash: string | null;
  gas_used: string | null;
  failure: string | null;
  created_at: number;
  updated_at: number;
}

interface AttemptRow {
  intent_key: string;
  hash: string;
  from_addr: string;
  nonce: number;
  max_fee: string;
  max_priority_fee: string;
  gas_limit: string;
  raw_tx: string;
  created_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS intents (
  key TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  from_addr TEXT,
  to_addr TEXT NOT NULL,
  data TEXT NOT NULL,
  value TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','sent','mined','failed')),
  tx_hash TEXT,
  nonce INTEGER,
  max_fee TEXT,
  max_priority_fee TEXT,
  gas_limit TEXT,
  status INTEGER,
  block_number INTEGER,
  block_hash TEXT,
  gas_used TEXT,
  failure TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS intents_state ON intents(state);
CREATE TABLE IF NOT EXISTS attempts (
  hash TEXT PRIMARY KEY,
  intent_key TEXT NOT NULL REFERENCES intents(key),
  from_addr TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  max_fee TEXT NOT NULL,
  max_priority_fee TEXT NOT NULL,
  gas_limit TEXT NOT NULL,
  raw_tx TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_intent ON attempts(intent_key);
CREATE TABLE IF NOT EXISTS nonces (
  account TEXT PRIMARY KEY,
  next_nonce INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

export class Journal {
  readonly path: string;
  readonly kv: KeyValueStore;
  readonly #db: Database.Database;

  private constructor(file: string, db: Database.Database) {
    this.path = file;
    this.#db = db;
    const get = db.prepare<[string], { value: string }>("SELECT value FROM kv WHERE key = ?");
    const put = db.prepare<[string, string]>(
      "INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    );
    const del = db.prepare<[string]>("DELETE FROM kv WHERE key = ?");
    this.kv = {
      get: (key) => get.get(key)?.value,
      put: (key, value) => {
        put.run(key, value);
      },
      delete: (key) => {
        del.run(key);
      },
    };
  }

  /**
   * Open (creating if needed) the journal at `file`; `":memory:"` for a throwaway one. Files
   * found more open than 0600 are tightened, logged on `logger`.
   */
  static open(file: string, logger?: Logger): Journal {
    const onDisk = file !== ":memory:";
    let db: Database.Database | undefined;
    try {
      if (onDisk) {
        // A missing dir is created 0700; an existing one is the data dir, tightened by the instance lock.
        fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: PRIVATE_DIR_MODE });
        // SQLite gives -wal and -shm the main file's mode, so the main file is created 0600 first.
        if (!fs.existsSync(file)) createPrivateFile(file);
      }
      db = new Database(file);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.pragma("busy_timeout = 5000");
      db.exec(SCHEMA);
      if (onDisk) for (const f of [file, `${file}-wal`, `${file}-shm`]) ensurePrivateFile(f, logger);
    } catch (cause) {
      db?.close();
      throw new JournalError("could not open the journal", { cause, details: { file } });
    }
    return new Journal(file, db);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /**
   * Record an intent, idempotently by key: the same key with the same to/data/value returns the
   * existing record (`created: false`); with different contents it is an `IntentConflictError`.
   */
  recordIntent(input: IntentInput): { record: IntentRecord; created: boolean } {
    validateIntent(input);
    const value = (input.value ?? 0n).toString();
    const to = input.to.toLowerCase();
    const data = input.data.toLowerCase();
    return this.#db.transaction(() => {
      const existing = this.#row(input.key);
      if (existing) {
        if (existing.to_addr !== to || existing.data !== data || existing.value !== value) {
          throw new IntentConflictError("intent key reused with different contents", {
            details: { key: input.key, purpose: input.purpose },
          });
        }
        return { record: toRecord(existing), created: false };
      }
      const now = Date.now();
      this.#db
        .prepare(
          `INSERT INTO intents(key, purpose, to_addr, data, value, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`,
        )
        .run(input.key, input.purpose, to, data, value, now, now);
      return { record: toRecord(this.#row(input.key) as IntentRow), created: true };
    })();
  }

  getIntent(key: string): IntentRecord | undefined {
    const row = this.#row(key);
    return row ? toRecord(row) : undefined;
  }

  listIntents(filter: { state?: IntentState; from?: string } = {}): IntentRecord[] {
    const clauses: string[] = [];
    const args: string[] = [];
    if (filter.state) {
      clauses.push("state = ?");
      args.push(filter.state);
    }
    if (filter.from) {
      clauses.push("from_addr = ?");
      args.push(filter.from.toLowerCase());
    }
    const where = clauses.length ? `WHERE ${clauses.join(" AND ")}` : "";
    const rows = this.#db.prepare(`SELECT * FROM intents ${where} ORDER BY created_at, key`).all(...args) as IntentRow[];
    return rows.map(toRecord);
  }

  /**
   * Store a signed attempt BEFORE it is broadcast, atomically with the intent's move to `sent`
   * and the account's next nonce (`max(stored, attempt.nonce + 1)`).
   */
  recordAttempt(attempt: Omit<TxAttempt, "createdAt">): void {
    const now = Date.now();
    const from = attempt.from.toLowerCase();
    this.#db.transaction(() => {
      const row = this.#row(attempt.intentKey);
      if (!row) throw new IntentNotFoundError("no intent for this attempt", { details: { key: attempt.intentKey } });
      if (row.state === "mined") {
        throw new JournalError("intent already mined", { details: { key: attempt.intentKey } });
      }
      this.#db
        .prepare(
          `INSERT INTO attempts(hash, intent_key, from_addr, nonce, max_fee, max_priority_fee, gas_limit, raw_tx, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          attempt.hash,
          attempt.intentKey,
          from,
          attempt.nonce,
          attempt.maxFeePerGas.toString(),
          attempt.maxPriorityFeePerGas.toString(),
          attempt.gasLimit.toString(),
          attempt.rawTx,
          now,
        );
      this.#db
        .prepare(
          `UPDATE intents SET state = 'sent', from_addr = ?, tx_hash = ?, nonce = ?, max_fee = ?, max_priority_fee = ?,
             gas_limit = ?, failure = NULL, updated_at = ? WHERE key = ?`,
        )
        .run(
          from,
          attempt.hash,
          attempt.nonce,
          attempt.maxFeePerGas.toString(),
          attempt.maxPriorityFeePerGas.toString(),
          attempt.gasLimit.toString(),
          now,
          attempt.intentKey,
        );
      this.#db
        .prepare(
          `INSERT INTO nonces(account, next_nonce) VALUES (?, ?)
           ON CONFLICT(account) DO UPDATE SET next_nonce = max(next_nonce, excluded.next_nonce)`,
        )
        .run(from, attempt.nonce + 1);
    })();
  }

  /** Attempts of one intent, oldest first. */
  attempts(key: string): TxAttempt[] {
    const rows = this.#db.prepare("SELECT * FROM attempts WHERE intent_key = ? ORDER BY created_at, rowid").all(key) as AttemptRow[];
    return rows.map((r) => ({
      intentKey: r.intent_key,
      hash: r.hash,
      from: r.from_addr,
      nonce: r.nonce,
      maxFeePerGas: BigInt(r.max_fee),
      maxPriorityFeePerGas: BigInt(r.max_priority_fee),
      gasLimit: BigInt(r.gas_limit),
      rawTx: r.raw_tx,
      createdAt: r.created_at,
    }));
  }

  /** Final state. `failure` carries the decoded reason of a reverted (status 0) transaction. */
  markMined(key: string, mined: MinedInfo, failure?: string): void {
    const info = this.#db
      .prepare(
        `UPDATE intents SET state = 'mined', tx_hash = ?, status = ?, block_number = ?, block_hash = ?, gas_used = ?,
           failure = ?, updated_at = ? WHERE key = ?`,
      )
      .run(mined.hash, mined.status, mined.blockNumber, mined.blockHash, mined.gasUsed.toString(), failure ?? null, Date.now(), key);
    if (info.changes === 0) throw new IntentNotFoundError("no intent to mark mined", { details: { key } });
  }

  markFailed(key: string, reason: string): void {
    const info = this.#db
      .prepare("UPDATE intents SET state = 'failed', failure = ?, updated_at = ? WHERE key = ? AND state != 'mined'")
      .run(reason, Date.now(), key);
    if (info.changes === 0) throw new IntentNotFoundError("no unmined intent to mark failed", { details: { key } });
  }

  getNextNonce(account: string): number | undefined {
    const row = this.#db.prepare("SELECT next_nonce FROM nonces WHERE account = ?").get(account.toLowerCase()) as
      { next_nonce: number } | undefined;
    return row?.next_nonce;
  }

  /** Overwrite the account's next nonce (resynchronisation with the chain). */
  setNextNonce(account: string, nonce: number): void {
    this.#db
      .prepare("INSERT INTO nonces(account, next_nonce) VALUES (?, ?) ON CONFLICT(account) DO UPDATE SET next_nonce = excluded.next_nonce")
      .run(account.toLowerCase(), nonce);
  }

  #row(key: string): IntentRow | undefined {
    return this.#db.prepare("SELECT * FROM intents WHERE key = ?").get(key) as IntentRow | undefined;
  }
}

function validateIntent(input: IntentInput): void {
  const bad = (what: string) => new JournalError(`invalid intent: ${what}`, { details: { key: input.key } });
  if (typeof input.key !== "string" || input.key.length === 0 || input.key.length > 256) throw bad("key must be 1-256 chars");
  if (typeof input.purpose !== "string" || input.purpose.length === 0) throw bad("purpose is empty");
  if (!/^0x[0-9a-fA-F]{40}$/.test(input.to)) throw bad("to is not an address");
  if (!/^0x([0-9a-fA-F]{2})*$/.test(input.data)) throw bad("data is not 0x-prefixed even-length hex");
  if (input.value !== undefined && (typeof input.value !== "bigint" || input.value < 0n)) throw bad("value must be a bigint ≥ 0");
}

function toRecord(r: IntentRow): IntentRecord {
  const big = (v: string | null) => (v === null ? null : BigInt(v));
  return {
    key: r.key,
    purpose: r.purpose,
    from: r.from_addr,
    to: r.to_addr,
    data: r.data,
    value: BigInt(r.value),
    state: r.state,
    txHash: r.tx_hash,
    nonce: r.nonce,
    maxFeePerGas: big(r.max_fee),
    maxPriorityFeePerGas: big(r.max_priority_fee),
    gasLimit: big(r.gas_limit),
    status: r.status,
    blockNumber: r.block_number,
    blockHash: r.block_hash,
    gasUsed: big(r.gas_used),
    failure: r.failure,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
