/**
 * Test harness of the verifier daemon suites: the whole system (deploySystem), a requester store
 * served over HTTP, a real worker daemon (honest or cheating), verifier daemons keyed by Hardhat
 * accounts, and a background miner so that `latest − confirmations` moves.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ethers, network } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import pino, { type Logger } from "pino";
import type { Eip1193Provider } from "../../../verifier/chain/rpc";
import { Journal } from "../../../verifier/chain/journal";
import { LocalStore, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { createJob, prepareMnistJob, type PreparedJob } from "../../../verifier/requester/createJob";
import type { ModelSpec } from "../../../verifier/engine/onnx";
import { workerConfig, type WorkerConfig } from "../../../verifier/worker/config";
import { runWorker } from "../../../verifier/worker/service";
import { withCheat } from "../../../verifier/worker/adversary";
import type { CheatMode } from "../../../verifier/worker/cheats";
import { resolveVerifierConfig, type VerifierConfig, type VerifierConfigInput } from "../../../verifier/daemon/config";
import { runVerifier, type RunVerifierOptions } from "../../../verifier/daemon/service";
import { DaemonRecords } from "../../../verifier/daemon/records";
import { E18, type System } from "../../helpers/system";

export const MNEMONIC = "test test test test test test test test test test test junk";
export function accountKey(i: number): string {
  return ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).privateKey;
}
/** Hardhat account index of a fixture juror j (deploySystem: signers.slice(6, 18)). */
export const JUROR_ACCOUNT = (j: number) => 6 + j;
export const CHALLENGER_ACCOUNT = 3;
export const WORKER_ACCOUNT = 2;

export const testLogger: Logger = pino({ level: process.env.VERIFIER_TEST_LOG ?? "silent" });

export async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Running {
  ac: AbortController;
  done: Promise<void>;
}

export async function stop(r: Running | undefined): Promise<void> {
  if (!r) return;
  r.ac.abort();
  await r.done;
}

/**
 * Mines a block, waits `ms`, mines the next. Self-paced on purpose: the in-process provider runs one
 * request at a time, and a fixed interval kept queueing evm_mine faster than a loaded CPU mined,
 * so every daemon RPC waited behind a growing backlog until it timed out and nothing progressed.
 */
export class Miner {
  #generation = 0;
  start(ms = 150): void {
    const generation = ++this.#generation;
    void (async () => {
      while (generation === this.#generation) {
        await network.provider.request({ method: "evm_mine", params: [] }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, ms));
      }
    })();
  }
  stop(): void {
    this.#generation++;
  }
}

export class Requester {
  constructor(
    readonly store: LocalStore,
    readonly server: StoreServerHandle,
  ) {}
  static async open(dir: string): Promise<Requester> {
    const store = await LocalStore.open(path.join(dir, "requester-store"));
    return new Requester(store, await startStoreServer({ store }));
  }
  async post(
    sys: System,
    opts: { T?: number; k?: number; seed?: string; model?: ModelSpec } = {},
  ): Promise<{ jobId: bigint; job: PreparedJob }> {
    const job = await prepareMnistJob({
      ...(opts.model ? { model: opts.model } : {}),
      store: this.store,
      publicBaseUrl: this.server.url,
      totalSteps: opts.T ?? 8,
      checkpointInterval: opts.k ?? 2,
      batchSize: 16,
      numBatches: 4,
      seed: opts.seed ?? ethers.id("verifier-test-seed"),
    });
    const { jobId } = await createJob({
      jobMarket: sys.jobMarket.connect(sys.requester),
      job,
      paymentToken: sys.payToken.connect(sys.requester),
      reward: 100n * E18,
      verificationFee: 10n * E18,
      claimDeadline: BigInt(await time.latest()) + 86_400n,
      trainingDuration: 36_000n,
    });
    return { jobId, job };
  }
  close(): Promise<void> {
    return this.server.close();
  }
}

/** A worker daemon; `cheat` wires that adversarial behaviour in (adversary.ts), as `--cheat` does. */
export async function startWorker(
  sys: System,
  dataDir: string,
  options: Partial<WorkerConfig> & { cheat?: CheatMode | null } = {},
): Promise<Running> {
  const { cheat, ...over } = options;
  const cfg = workerConfig({
    eip1193: network.provider as unknown as Eip1193Provider,
    env: { UPOW_PRIVATE_KEY: accountKey(WORKER_ACCOUNT) },
    dataDir,
    jobMarket: await sys.jobMarket.getAddress(),
    stakeManager: await sys.stakeManager.getAddress(),
    disputeManager: await sys.disputeManager.getAddress(),
    acceptedTokens: [{ address: await sys.payToken.getAddress(), minRewardPerTflop: 0n }],
    confirmations: 0,
    pollIntervalMs: 50,
    startBlock: 0,
    logLevel: "silent",
    allowPrivateArtifacts: true, // every test store listens on 127.0.0.1
    ...over,
  });
  const ac = new AbortController();
  return {
    ac,
    done: runWorker(cfg, {
      signal: ac.signal,
      logger: testLogger.child({ svc: "worker" }),
      ...(cheat ? { behaviour: withCheat(cheat) } : {}),
    }),
  };
}

export async function verifierConfig(
  sys: System,
  account: number,
  dataDir: string,
  over: Partial<VerifierConfigInput> = {},
): Promise<VerifierConfig> {
  return resolveVerifierConfig({
    eip1193: network.provider as unknown as Eip1193Provider,
    jobMarket: await sys.jobMarket.getAddress(),
    auditManager: await sys.auditManager.getAddress(),
    disputeManager: await sys.disputeManager.getAddress(),
    dataDir,
    startBlock: 0,
    confirmations: 1,
    txConfirmations: 1,
    pollIntervalMs: 50,
    deadlineMarginSec: 2,
    artifactRetries: 0,
    // rpcTimeoutMs as in production: the provider is in this process, and on a loaded CPU a 2 s limit
    // discarded answers that were merely late (fault tests set their own short limits).
    artifactTimeoutMs: 5_000,
    rpcTimeoutMs: 10_000,
    logLevel: "silent",
    unservedGraceMs: 300,
    unservedMinAttempts: 2,
    allowPrivateArtifacts: true, // every test store listens on 127.0.0.1
    env: { UPOW_PRIVATE_KEY: accountKey(account) },
    ...over,
  });
}

export function startVerifier(config: VerifierConfig, extra: Partial<RunVerifierOptions> = {}): Running {
  const ac = new AbortController();
  return {
    ac,
    done: runVerifier(config, {
      signal: ac.signal,
      logger: testLogger.child({ svc: "verifier", dir: path.basename(config.dataDir) }),
      ...extra,
    }),
  };
}

/** Read a stopped daemon's records (its instance lock is released on abort). */
export function readRecords<T>(dataDir: string, f: (r: DaemonRecords, j: Journal) => T): T {
  const j = Journal.open(path.join(dataDir, "journal.sqlite"));
  try {
    return f(new DaemonRecords(j.kv), j);
  } finally {
    j.close();
  }
}

/**
 * What every daemon suite needs, with its mocha hooks: a temp dir and a requester (one per suite),
 * a miner stopped and the daemons in `running` stopped after each test. Call inside `describe`.
 */
export interface DaemonTestBed {
  readonly tmp: string;
  readonly requester: Requester;
  readonly miner: Miner;
  readonly running: Running[];
}

export function daemonTestBed(prefix: string): DaemonTestBed {
  let tmp = "";
  let requester: Requester | undefined;
  const miner = new Miner();
  const running: Running[] = [];
  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), prefix));
    requester = await Requester.open(tmp);
  });
  after(async function () {
    await requester?.close();
    await rm(tmp, { recursive: true, force: true });
  });
  afterEach(async function () {
    miner.stop();
    for (const r of running.splice(0)) await stop(r);
  });
  return {
    get tmp() {
      return tmp;
    },
    get requester() {
      if (requester === undefined) throw new Error("daemonTestBed: used outside a test");
      return requester;
    },
    miner,
    running,
  };
}
