import { Transaction, isError } from "ethers";
import type { Interface, Provider, Signer, TransactionReceipt } from "ethers";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { FailureTracker } from "./failures";
import type { IntentInput, IntentRecord, Journal, TxAttempt } from "./journal";
import { decodeRevertData, revertDataOf } from "./revert";
import type { DecodedRevert } from "./revert";
import { collectErrorText, RpcUnavailableError } from "./rpc";

/**
 * The only code that signs (op-challenger's sender): simulate → estimate × margin → journal the
 * signed transaction → broadcast → wait for the receipt with confirmations, bumping fees of a
 * stuck transaction. Restart-safe: `start()` reconciles every `sent` intent of the account, and
 * `send` with a key that is already mined returns the recorded result without sending again.
 */

export type TxIntent = IntentInput;

export interface MinedTxResult {
  kind: "mined";
  key: string;
  purpose: string;
  hash: string;
  nonce: number;
  blockNumber: number;
  blockHash: string;
  gasUsed: bigint;
  /** True when the result came from the journal (the intent had been mined before this call). */
  reused: boolean;
}

export interface DryRunTxResult {
  kind: "dry-run";
  key: string;
  purpose: string;
  gasEstimate: bigint;
  gasLimit: bigint;
}

export type SendResult = MinedTxResult | DryRunTxResult;

export interface TxEvent {
  type: "sent" | "bumped" | "rebroadcast" | "mined" | "reverted" | "failed";
  key: string;
  purpose: string;
  hash?: string;
}

export interface ReconcileReport {
  /** Keys found mined (receipt present and confirmed) and marked so. */
  mined: string[];
  /** Keys whose stored raw transaction was broadcast again. */
  rebroadcast: string[];
  /** Keys with a receipt not yet deep enough; `send(key)` resumes waiting. */
  waiting: string[];
}

export interface TxSenderParameters {
  /** Must be able to `signTransaction` (an ethers Wallet). */
  signer: Signer;
  provider: Provider;
  journal: Journal;
  logger: Logger;
  /** Blocks a receipt must be deep (1 = in the latest block). @default 1 */
  confirmations?: number;
  /** Gas limit = estimate × (100 + margin)%. @default 20 */
  gasMarginPercent?: number;
  /** Replace a transaction with higher fees after this long without a receipt. @default 60_000 */
  stuckTimeoutMs?: number;
  /** Fee increase of a replacement, percent; at least 12.5 (nodes need 10). @default 12.5 */
  feeBumpPercent?: number;
  /** Never offer more than this maxFeePerGas. @default 500 gwei */
  maxFeePerGasCap?: bigint;
  /** Receipt polling interval. @default 1_000 */
  pollIntervalMs?: number;
  /** Give up waiting (TxTimeoutError; the intent stays `sent`). @default 900_000 */
  receiptTimeoutMs?: number;
  /** Contract interfaces whose custom errors revert reasons are decoded against. */
  errorInterfaces?: Interface[];
  /** Simulate and log, send nothing. @default false */
  dryRun?: boolean;
  /** Transaction lifecycle hook (metrics: txs_sent; failures go through `failures`). */
  onTxEvent?: (event: TxEvent) => void;
  /** Back-off and escalation of failing intents (shared with /healthz). @default one backing off from pollIntervalMs */
  failures?: FailureTracker;
}

class TxSenderError extends UPowError {
  override readonly name: string = "TxSenderError";
}

/** `eth_call` or `eth_estimateGas` reverted: nothing was sent. */
export class TxSimulationError extends TxSenderError {
  override readonly name: string = "TxSimulationError";
  readonly revert: DecodedRevert;
  constructor(revert: DecodedRevert, options: { cause?: unknown; details?: Record<string, unknown> }) {
    super(`simulation reverted: ${revert.reason}`, options);
    this.revert = revert;
  }
}

/** The transaction was mined and reverted. `revert` is best effort (re-run at the receipt's block). */
export class TxRevertedError extends TxSenderError {
  override readonly name: string = "TxRevertedError";
  readonly hash: string;
  readonly revert: DecodedRevert;
  constructor(hash: string, revert: DecodedRevert, options: { details?: Record<string, unknown> } = {}) {
    super(`transaction reverted: ${revert.reason}`, options);
    this.hash = hash;
    this.revert = revert;
  }
}

/** The node refused the transaction for good (e.g. insufficient funds); the nonce was released. */
class TxBroadcastError extends TxSenderError {
  override readonly name: string = "TxBroadcastError";
}

/** No receipt within `receiptTimeoutMs`; the intent stays `sent` and `send(key)` resumes it. */
class TxTimeoutError extends TxSenderError {
  override readonly name: string = "TxTimeoutError";
}

/** The nonce was used by a transaction that is none of this intent's attempts. */
class TxNonceConflictError extends TxSenderError {
  override readonly name: string = "TxNonceConflictError";
}

/** `close()` was called while waiting. */
export class TxSenderClosedError extends TxSenderError {
  override readonly name: string = "TxSenderClosedError";
}

/** Not sent on this call, by the failure policy (failures.ts); nothing was simulated. */
export class TxSkippedError extends TxSenderError {
  override readonly name: string = "TxSkippedError";
}

/** The intent failed recently and is backing off until `untilMs`. */
class TxBackoffError extends TxSkippedError {
  override readonly name: string = "TxBackoffError";
}

/** The intent's earlier revert said someone else did it or its window closed: it is never sent again. */
class TxSupersededError extends TxSkippedError {
  override readonly name: string = "TxSupersededError";
}

class TxSenderConfigError extends TxSenderError {
  override readonly name: string = "TxSenderConfigError";
}

type BroadcastOutcome = "accepted" | "known" | "nonce-too-low" | "underpriced" | "rejected" | "unknown";

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

const GWEI = 1_000_000_000n;

export class TxSender {
  readonly #p: Required<Omit<TxSenderParameters, "onTxEvent" | "errorInterfaces">> &
    Pick<TxSenderParameters, "onTxEvent"> & { errorInterfaces: Interface[] };
  readonly #abort = new AbortController();
  #address = "";
  #chainId = 0n;
  #nextNonce = 0;
  #started = false;
  #lock: Promise<void> = Promise.resolve();

  constructor(params: TxSenderParameters) {
    const p = {
      confirmations: 1,
      gasMarginPercent: 20,
      stuckTimeoutMs: 60_000,
      feeBumpPercent: 12.5,
      maxFeePerGasCap: 500n * GWEI,
      pollIntervalMs: 1_000,
      receiptTimeoutMs: 900_000,
      dryRun: false,
      ...params,
      errorInterfaces: params.errorInterfaces ?? [],
      failures: params.failures ?? new FailureTracker({ baseDelayMs: params.pollIntervalMs ?? 1_000 }),
    };
    if (!Number.isInteger(p.confirmations) || p.confirmations < 1) {
      throw new TxSenderConfigError("confirmations must be an integer ≥ 1", { details: { confirmations: p.confirmations } });
    }
    if (!(p.feeBumpPercent >= 12.5)) {
      throw new TxSenderConfigError("feeBumpPercent must be ≥ 12.5", { details: { feeBumpPercent: p.feeBumpPercent } });
    }
    if (!(p.gasMarginPercent >= 0)) {
      throw new TxSenderConfigError("gasMarginPercent must be ≥ 0", { details: { gasMarginPercent: p.gasMarginPercent } });
    }
    if (p.maxFeePerGasCap <= 0n) throw new TxSenderConfigError("maxFeePerGasCap must be > 0");
    this.#p = p;
  }

  /** Construct and `start()`. */
  static async create(params: TxSenderParameters): Promise<TxSender> {
    const sender = new TxSender(params);
    await sender.start();
    return sender;
  }

  get address(): string {
    return this.#address;
  }

  /** The nonce the next new transaction will use. */
  get nextNonce(): number {
    return this.#nextNonce;
  }

  /** Reconcile the journal with the chain, then initialise the nonce. Call once before `send`. */
  async start(): Promise<ReconcileReport> {
    this.#address = (await this.#p.signer.getAddress()).toLowerCase();
    this.#chainId = (await this.#p.provider.getNetwork()).chainId;
    const report = await this.reconcile();
    await this.#syncNonce();
    this.#started = true;
    return report;
  }

  /**
   * Every `sent` intent of this account: receipt present and confirmed → mined (reverted ones
   * too, with their reason); otherwise the latest stored raw transaction is broadcast again.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { mined: [], rebroadcast: [], waiting: [] };
    for (const intent of this.#p.journal.listIntents({ state: "sent", from: this.#address })) {
      const log = this.#log(intent);
      const attempts = this.#p.journal.attempts(intent.key);
      const receipt = await this.#findReceipt(attempts);
      if (receipt) {
        if (await this.#deepEnough(receipt)) {
          try {
            await this.#finalize(intent, receipt);
          } catch (err) {
            if (!(err instanceof TxRevertedError)) throw err;
          }
          report.mined.push(intent.key);
        } else {
          report.waiting.push(intent.key);
        }
        continue;
      }
      const latest = attempts[attempts.length - 1];
      const outcome = await this.#broadcast(latest.rawTx, log);
      log.info({ hash: latest.hash, nonce: latest.nonce, outcome }, "reconcile: rebroadcast stored transaction");
      this.#emit("rebroadcast", intent, latest.hash);
      report.rebroadcast.push(intent.key);
    }
    return report;
  }

  /** Failure back-off and escalation state (for /healthz). */
  get failures(): FailureTracker {
    return this.#p.failures;
  }

  /**
   * Send one intent and wait until it is mined with `confirmations`. Idempotent by `intent.key`:
   * mined → the recorded result (or the recorded TxRevertedError); sent → resume waiting;
   * pending/failed → simulate and send. An intent that failed is backing off (TxBackoffError) or,
   * when its revert was stale, held back on a doubling schedule (TxSupersededError): no simulation, no transaction.
   */
  async send(intent: TxIntent): Promise<SendResult> {
    if (!this.#started) throw new TxSenderError("TxSender.start() was not called");
    this.#throwIfClosed();
    const log = this.#p.logger.child({ purpose: intent.purpose, key: intent.key });
    if (this.#p.dryRun) return this.#dryRun(intent, log);
    const known = this.#p.journal.getIntent(intent.key);
    // A mined one has its recorded result (counted when it happened); a sent one is always resumed.
    if (known?.state === "mined") return this.#recorded(known);
    if (known?.state !== "sent") {
      const gate = this.#p.failures.gate(intent);
      if (gate.kind === "superseded")
        throw new TxSupersededError(`held back: ${gate.reason}`, { details: { key: intent.key, purpose: intent.purpose } });
      if (gate.kind === "backoff") {
        throw new TxBackoffError(`backing off after ${gate.failures} failure(s): ${gate.reason}`, {
          details: { key: intent.key, purpose: intent.purpose, retryInMs: gate.untilMs - Date.now() },
        });
      }
    }
    try {
      const result = await this.#send(intent, log);
      this.#p.failures.succeeded(intent);
      return result;
    } catch (err) {
      if (!(err instanceof TxSenderClosedError)) {
        const revert = err instanceof TxSimulationError || err instanceof TxRevertedError ? err.revert : undefined;
        const reason = revert?.reason ?? (err instanceof UPowError ? err.shortMessage : collectErrorText(err));
        this.#p.failures.failed(intent, reason, revert?.name ?? (err instanceof Error ? err.name : undefined), log);
      }
      throw err;
    }
  }

  async #send(intent: TxIntent, log: Logger): Promise<SendResult> {
    const { record } = this.#p.journal.recordIntent(intent);
    if (record.state === "mined") return this.#recorded(record);
    if (record.state === "sent") {
      log.info({ hash: record.txHash, nonce: record.nonce }, "resuming sent transaction");
      return this.#waitMined(record);
    }

    const gasLimit = await this.#simulate(record, log);
    const fees = await this.#fees();
    await this.#withLock(async () => {
      for (let tries = 0; ; tries++) {
        const nonce = this.#nextNonce;
        const attempt = await this.#sign(record, nonce, gasLimit, fees);
        this.#p.journal.recordAttempt(attempt); // journaled BEFORE broadcast
        this.#nextNonce = nonce + 1;
        const outcome = await this.#broadcast(attempt.rawTx, log);
        log.info({ hash: attempt.hash, nonce, gasLimit, ...feesForLog(fees), outcome }, "transaction sent");
        if (outcome === "nonce-too-low" && tries < 3) {
          // Someone else used the nonce (or our node was stale): resync and sign again.
          await this.#syncNonce(nonce + 1);
          continue;
        }
        if (outcome === "rejected") {
          if (this.#nextNonce === nonce + 1) {
            this.#nextNonce = nonce;
            this.#p.journal.setNextNonce(this.#address, nonce);
          }
          this.#p.journal.markFailed(record.key, "broadcast rejected");
          this.#emit("failed", record, attempt.hash);
          throw new TxBroadcastError("node rejected the transaction", { details: { key: record.key, hash: attempt.hash } });
        }
        this.#emit("sent", record, attempt.hash);
        return;
      }
    });
    return this.#waitMined(record);
  }

  /** Stop: pending `send` calls reject with TxSenderClosedError. The journal stays open (caller owns it). */
  close(): void {
    this.#abort.abort();
  }

  async #dryRun(intent: TxIntent, log: Logger): Promise<DryRunTxResult> {
    const record = { ...intent, value: intent.value ?? 0n } as IntentRecord;
    const gasEstimate = await this.#estimate(record, log);
    const gasLimit = withMargin(gasEstimate, this.#p.gasMarginPercent);
    log.info({ to: intent.to, gasEstimate, gasLimit }, "dry run: simulation passed, not sending");
    return { kind: "dry-run", key: intent.key, purpose: intent.purpose, gasEstimate, gasLimit };
  }

  async #simulate(record: IntentRecord, log: Logger): Promise<bigint> {
    try {
      return withMargin(await this.#estimate(record, log), this.#p.gasMarginPercent);
    } catch (err) {
      if (err instanceof TxSimulationError) {
        this.#p.journal.markFailed(record.key, `simulation: ${err.revert.reason}`);
        this.#emit("failed", record);
      }
      throw err;
    }
  }

  async #estimate(record: Pick<IntentRecord, "key" | "to" | "data" | "value">, log: Logger): Promise<bigint> {
    const tx = { from: this.#address, to: record.to, data: record.data, value: record.value };
    for (const step of ["call", "estimateGas"] as const) {
      try {
        if (step === "call") await this.#p.provider.call({ ...tx, blockTag: "latest" });
        else return await this.#p.provider.estimateGas(tx);
      } catch (err) {
        const data = revertDataOf(err);
        if (data === undefined) throw err;
        const revert = decodeRevertData(data, this.#p.errorInterfaces);
        log.debug({ step, reason: revert.reason }, "simulation reverted");
        throw new TxSimulationError(revert, { cause: err, details: { key: record.key, step } });
      }
    }
    throw new TxSenderError("unreachable");
  }

  async #fees(): Promise<Fees> {
    const fd = await this.#p.provider.getFeeData();
    const cap = this.#p.maxFeePerGasCap;
    let maxFeePerGas = fd.maxFeePerGas ?? (fd.gasPrice !== null ? fd.gasPrice * 2n : null);
    let maxPriorityFeePerGas = fd.maxPriorityFeePerGas ?? fd.gasPrice;
    if (maxFeePerGas === null || maxPriorityFeePerGas === null) throw new TxSenderError("node gave no fee data");
    if (maxFeePerGas > cap) maxFeePerGas = cap;
    if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  async #sign(record: IntentRecord, nonce: number, gasLimit: bigint, fees: Fees): Promise<Omit<TxAttempt, "createdAt">> {
    const rawTx = await this.#p.signer.signTransaction({
      type: 2,
      chainId: this.#chainId,
      from: this.#address,
      nonce,
      to: record.to,
      data: record.data,
      value: record.value,
      gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = Transaction.from(rawTx).hash;
    if (!hash) throw new TxSenderError("signed transaction has no hash");
    return { intentKey: record.key, hash, from: this.#address, nonce, gasLimit, rawTx, ...fees };
  }

  async #broadcast(rawTx: string, log: Logger): Promise<BroadcastOutcome> {
    try {
      await this.#p.provider.broadcastTransaction(rawTx);
      return "accepted";
    } catch (err) {
      if (isError(err, "NONCE_EXPIRED")) return "nonce-too-low";
      if (isError(err, "REPLACEMENT_UNDERPRICED")) return "underpriced";
      if (isError(err, "INSUFFICIENT_FUNDS")) return "rejected";
      const text = collectErrorText(err);
      if (/already known|known transaction|already imported|already in pool/i.test(text)) return "known";
      if (/nonce too low|nonce has already been used/i.test(text)) return "nonce-too-low";
      if (/underpriced/i.test(text)) return "underpriced";
      // Transport failures and unclassified answers: it may have arrived; the wait loop rebroadcasts.
      log.warn({ err: err instanceof RpcUnavailableError ? err.shortMessage : text }, "broadcast outcome unknown");
      return "unknown";
    }
  }

  async #waitMined(record: IntentRecord): Promise<MinedTxResult> {
    const log = this.#log(record);
    const startedAt = Date.now();
    let attempts = this.#p.journal.attempts(record.key);
    let lastActivity = Math.max(attempts[attempts.length - 1]?.createdAt ?? 0, startedAt - this.#p.stuckTimeoutMs / 2);
    let nonceGoneSince: number | undefined;
    for (;;) {
      this.#throwIfClosed();
      attempts = this.#p.journal.attempts(record.key);
      const receipt = await this.#findReceipt(attempts);
      if (receipt) {
        nonceGoneSince = undefined;
        if (await this.#deepEnough(receipt)) {
          const again = await this.#p.provider.getTransactionReceipt(receipt.hash);
          // Re-read: a reorg may have dropped or moved it while we waited for depth.
          if (again && again.blockHash === receipt.blockHash) return this.#finalize(record, again);
        }
      } else {
        const latest = attempts[attempts.length - 1];
        const now = Date.now();
        if (now - lastActivity >= this.#p.stuckTimeoutMs) {
          lastActivity = now;
          await this.#bump(record, latest, log);
        } else if ((await this.#p.provider.getTransaction(latest.hash)) === null) {
          const outcome = await this.#broadcast(latest.rawTx, log);
          if (outcome === "nonce-too-low") nonceGoneSince ??= now;
          else log.info({ hash: latest.hash, nonce: latest.nonce, outcome }, "rebroadcast transaction unknown to the node");
        }
        if (nonceGoneSince !== undefined && now - nonceGoneSince > this.#p.stuckTimeoutMs) {
          this.#p.journal.markFailed(record.key, "nonce consumed by another transaction");
          this.#emit("failed", record, latest.hash);
          throw new TxNonceConflictError("nonce used by a transaction that is not ours", {
            details: { key: record.key, nonce: latest.nonce },
          });
        }
      }
      if (Date.now() - startedAt > this.#p.receiptTimeoutMs) {
        throw new TxTimeoutError("no receipt in time", {
          details: { key: record.key, hash: attempts[attempts.length - 1]?.hash, receiptTimeoutMs: this.#p.receiptTimeoutMs },
        });
      }
      await this.#sleep(this.#p.pollIntervalMs);
    }
  }

  async #bump(record: IntentRecord, latest: TxAttempt, log: Logger): Promise<void> {
    const market = await this.#fees();
    const bps = BigInt(Math.round(this.#p.feeBumpPercent * 100));
    const bump = (v: bigint) => (v * (10_000n + bps) + 9_999n) / 10_000n;
    const minMax = bump(latest.maxFeePerGas);
    const minTip = bump(latest.maxPriorityFeePerGas);
    const cap = this.#p.maxFeePerGasCap;
    if (minMax > cap) {
      log.warn({ hash: latest.hash, maxFeePerGas: latest.maxFeePerGas, cap }, "stuck transaction at the fee cap; waiting");
      return;
    }
    let maxFeePerGas = market.maxFeePerGas > minMax ? market.maxFeePerGas : minMax;
    let maxPriorityFeePerGas = market.maxPriorityFeePerGas > minTip ? market.maxPriorityFeePerGas : minTip;
    if (maxFeePerGas > cap) maxFeePerGas = cap;
    if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
    const fees = { maxFeePerGas, maxPriorityFeePerGas };
    await this.#withLock(async () => {
      const attempt = await this.#sign(record, latest.nonce, latest.gasLimit, fees);
      this.#p.journal.recordAttempt(attempt);
      const outcome = await this.#broadcast(attempt.rawTx, log);
      log.info({ hash: attempt.hash, replaces: latest.hash, nonce: latest.nonce, ...feesForLog(fees), outcome }, "fee bump");
      this.#emit("bumped", record, attempt.hash);
    });
  }

  /** The receipt of any attempt (newest first); replaced attempts may be the one that got mined. */
  async #findReceipt(attempts: TxAttempt[]): Promise<TransactionReceipt | null> {
    for (let i = attempts.length - 1; i >= 0; i--) {
      const receipt = await this.#p.provider.getTransactionReceipt(attempts[i].hash);
      if (receipt) return receipt;
    }
    return null;
  }

  async #deepEnough(receipt: TransactionReceipt): Promise<boolean> {
    const head = await this.#p.provider.getBlockNumber();
    return head - receipt.blockNumber + 1 >= this.#p.confirmations;
  }

  async #finalize(record: IntentRecord, receipt: TransactionReceipt): Promise<MinedTxResult> {
    const log = this.#log(record);
    const attempt = this.#p.journal.attempts(record.key).find((a) => a.hash === receipt.hash);
    const nonce = attempt?.nonce ?? record.nonce ?? -1;
    const mined = {
      hash: receipt.hash,
      status: receipt.status ?? 0,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
      gasUsed: receipt.gasUsed,
    };
    if (mined.status === 1) {
      this.#p.journal.markMined(record.key, mined);
      log.info({ hash: mined.hash, nonce, block: mined.blockNumber, gasUsed: mined.gasUsed }, "transaction mined");
      this.#emit("mined", record, mined.hash);
      return { kind: "mined", key: record.key, purpose: record.purpose, nonce, reused: false, ...pickMined(mined) };
    }
    const revert = await this.#replayRevert(record, receipt.blockNumber);
    this.#p.journal.markMined(record.key, mined, `reverted: ${revert.reason}`);
    log.error({ hash: mined.hash, nonce, block: mined.blockNumber, reason: revert.reason }, "transaction reverted");
    this.#emit("reverted", record, mined.hash);
    throw new TxRevertedError(mined.hash, revert, { details: { key: record.key, block: mined.blockNumber } });
  }

  /** Best effort: re-run the call on the state after the block that reverted it. */
  async #replayRevert(record: IntentRecord, blockNumber: number): Promise<ReturnType<typeof decodeRevertData>> {
    try {
      await this.#p.provider.call({
        from: this.#address,
        to: record.to,
        data: record.data,
        value: record.value,
        blockTag: blockNumber,
      });
      return { reason: "reverted (replay did not reproduce it)", data: "0x" };
    } catch (err) {
      const data = revertDataOf(err);
      return data === undefined ? { reason: "reverted (replay failed)", data: "0x" } : decodeRevertData(data, this.#p.errorInterfaces);
    }
  }

  #recorded(record: IntentRecord): MinedTxResult {
    if (record.status !== 1) {
      throw new TxRevertedError(
        record.txHash ?? "",
        { reason: (record.failure ?? "reverted").replace(/^reverted: /, ""), data: "0x" },
        {
          details: { key: record.key, recorded: true },
        },
      );
    }
    return {
      kind: "mined",
      key: record.key,
      purpose: record.purpose,
      hash: record.txHash ?? "",
      nonce: record.nonce ?? -1,
      blockNumber: record.blockNumber ?? -1,
      blockHash: record.blockHash ?? "",
      gasUsed: record.gasUsed ?? 0n,
      reused: true,
    };
  }

  /** Next nonce = max(chain pending nonce, 1 + highest nonce of our still-`sent` intents, floor). */
  async #syncNonce(floor = 0): Promise<void> {
    const pending = await this.#p.provider.getTransactionCount(this.#address, "pending");
    let next = Math.max(pending, floor);
    for (const intent of this.#p.journal.listIntents({ state: "sent", from: this.#address })) {
      if (intent.nonce !== null) next = Math.max(next, intent.nonce + 1);
    }
    const persisted = this.#p.journal.getNextNonce(this.#address);
    if (persisted !== undefined && persisted > next) {
      // Nothing of ours is outstanding at those nonces; using them would leave a gap that never mines.
      this.#p.logger.warn({ account: this.#address, persisted, next }, "journal nonce ahead of the chain; using the chain's");
    }
    this.#nextNonce = next;
    this.#p.journal.setNextNonce(this.#address, next);
  }

  async #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#lock;
    let release!: () => void;
    this.#lock = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const signal = this.#abort.signal;
      if (signal.aborted) return reject(new TxSenderClosedError("TxSender closed"));
      const onAbort = () => {
        clearTimeout(timer);
        reject(new TxSenderClosedError("TxSender closed"));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #throwIfClosed(): void {
    if (this.#abort.signal.aborted) throw new TxSenderClosedError("TxSender closed");
  }

  #log(record: Pick<IntentRecord, "purpose" | "key">): Logger {
    return this.#p.logger.child({ purpose: record.purpose, key: record.key });
  }

  #emit(type: TxEvent["type"], record: Pick<IntentRecord, "purpose" | "key">, hash?: string): void {
    this.#p.onTxEvent?.({ type, key: record.key, purpose: record.purpose, hash });
  }
}

function withMargin(estimate: bigint, marginPercent: number): bigint {
  return (estimate * BigInt(Math.round((100 + marginPercent) * 100))) / 10_000n;
}

function feesForLog(fees: Fees): Record<string, string> {
  return { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() };
}

function pickMined(m: { hash: string; blockNumber: number; blockHash: string; gasUsed: bigint }) {
  return { hash: m.hash, blockNumber: m.blockNumber, blockHash: m.blockHash, gasUsed: m.gasUsed };
}
