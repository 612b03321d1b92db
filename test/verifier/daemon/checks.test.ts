/**
 * Malformed artifacts reach the verifier's checks as typed errors or a `skipped` audit with a clear
 * log line, never as a crash: wrong hash, oversize, truncated transfer, a step graph with a
 * disallowed op. And the juror's judgement of a served step: the reference setting runs first (V9.1).
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { buildStepGraph, defaultHyperparameters, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { StepRunner } from "../../../verifier/engine/runner";
import { Vote } from "../../../verifier/engine/tolerance";
import type { TensorMap } from "../../../verifier/engine/tensor";
import { onnx } from "../../../verifier/engine/onnx/proto";
import { writeSafetensors } from "../../../verifier/engine/safetensors";
import { fileHashOfSync } from "../../../verifier/engine/statehash";
import { LocalStore, MAX_ARTIFACT_BASES, sha256Hex, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { buildResultIndex } from "../../../verifier/protocol/resultIndex";
import { ArtifactClient } from "../../../verifier/daemon/check/artifacts";
import { runAudit, unreachableVerdict } from "../../../verifier/daemon/check/audit";
import { judgeStep } from "../../../verifier/daemon/check/judge";
import { JudgementCache } from "../../../verifier/daemon/check/judgements";
import {
  onnxRunnerFactory,
  REFERENCE_SETTINGS,
  type RunnerFactory,
  type RunnerSettingsChoice,
} from "../../../verifier/daemon/check/runners";
import type { JobSpec } from "../../../verifier/daemon/check/spec";
import { ArtifactProblemError, ArtifactsUnreachableError } from "../../../verifier/daemon/errors";

const SPEC: ModelSpec = { layers: [4, 3, 2], activation: "relu", optimizer: "sgd" };
const SEED = `0x${"ab".repeat(32)}`;

describe("verifier daemon: malformed artifacts", function () {
  this.timeout(30_000);
  let tmp: string;
  let served: LocalStore;
  let server: StoreServerHandle;
  let client: ArtifactClient;
  let lines: string[];
  const state = writeSafetensors(initState(SPEC, SEED));

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-vchecks-"));
    served = await LocalStore.open(path.join(tmp, "served"));
    server = await startStoreServer({ store: served });
    await served.put(state);
  });
  beforeEach(async function () {
    lines = [];
    const sink = new Writable({
      write: (c, _e, cb) => {
        lines.push(String(c));
        cb();
      },
    });
    client = new ArtifactClient({
      store: await LocalStore.open(path.join(tmp, `cache-${Math.random()}`)),
      logger: pino({ level: "info" }, sink),
      retries: 0,
      timeoutMs: 2_000,
      urlPolicy: { allowPrivate: true },
    });
  });
  after(async function () {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("a file whose bytes do not hash to the committed state hash is refused (as not served)", async function () {
    const wrong = `0x${"11".repeat(32)}`;
    const err = await client.fetchState(wrong, sha256Hex(state), [server.url], "state S_3", 1 << 20).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArtifactProblemError);
    expect((err as ArtifactProblemError).unavailable).to.equal(true);
    expect((err as ArtifactProblemError).shortMessage).to.match(/state S_3 does not match its committed hash/);
    // The right hash passes.
    const ok = await client.fetchState(fileHashOfSync(state), sha256Hex(state), [server.url], "state", 1 << 20);
    expect(ok.state.size).to.be.greaterThan(0);
  });

  it("an oversize artifact is refused without being stored", async function () {
    const err = await client.fetchState(fileHashOfSync(state), sha256Hex(state), [server.url], "state S_4", 64).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArtifactProblemError);
    expect((err as ArtifactProblemError).shortMessage).to.match(/state S_4 could not be fetched/);
  });

  it("a truncated transfer is refused", async function () {
    const liar = http.createServer((_req, res) => {
      res.writeHead(200, { "content-length": String(state.length) });
      res.write(Buffer.from(state).subarray(0, 100));
      res.destroy();
    });
    await new Promise<void>((r) => liar.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    try {
      const err = await client.fetchState(fileHashOfSync(state), sha256Hex(state), [url], "checkpoint 1", 1 << 20).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ArtifactProblemError);
      expect((err as ArtifactProblemError).unavailable).to.equal(true);
    } finally {
      liar.close();
    }
  });

  describe("when the index names bases the URL policy refuses (V8.4)", function () {
    let strict: ArtifactClient;
    beforeEach(async function () {
      strict = new ArtifactClient({
        store: await LocalStore.open(path.join(tmp, `cache-${Math.random()}`)),
        logger: pino({ level: "silent" }),
        retries: 1,
        timeoutMs: 2_000,
        urlPolicy: { allowPrivate: false },
      });
    });
    const problem = (e: unknown) => {
      expect(e).to.be.instanceOf(ArtifactProblemError);
      return e as ArtifactProblemError;
    };

    it("a state served only from loopback counts as not served, definitively (not transient, so no grace period)", async function () {
      const err = problem(
        await strict.fetchState(fileHashOfSync(state), sha256Hex(state), [server.url], "checkpoint 1", 1 << 20).catch((e: unknown) => e),
      );
      expect(err.unavailable).to.equal(true);
      expect(err.transient).to.equal(false);
      expect(err.shortMessage).to.match(/checkpoint 1 could not be fetched/);
    });

    it("more than MAX_ARTIFACT_BASES bases count as not served, even when one would serve", async function () {
      const bases = [...Array.from({ length: MAX_ARTIFACT_BASES }, (_, i) => `https://m${i}.example.org`), server.url];
      const err = problem(
        await client.fetchState(fileHashOfSync(state), sha256Hex(state), bases, "checkpoint 2", 1 << 20).catch((e: unknown) => e),
      );
      expect(err.unavailable).to.equal(true);
      expect(err.transient).to.equal(false);
      expect(err.shortMessage).to.match(/too-many-bases/);
    });

    it("a base with a `?` (which would turn /artifacts/<sha256> into a query) is refused", async function () {
      const err = problem(
        await client
          .fetchState(fileHashOfSync(state), sha256Hex(state), [`${server.url}/?`], "checkpoint 3", 1 << 20)
          .catch((e: unknown) => e),
      );
      expect(err.unavailable).to.equal(true);
      expect(err.shortMessage).to.match(/query/);
    });
  });

  it("a step graph with a disallowed op makes the audit `skipped` with a clear log line, not a dispute", async function () {
    const m = onnx.ModelProto.decode(buildStepGraph(SPEC));
    (m.graph as onnx.GraphProto).node.push(
      onnx.NodeProto.create({ opType: "ArgMax", name: "bad", input: ["batch.x"], output: ["bad_out"] }),
    );
    const graph = onnx.ModelProto.encode(m).finish();
    const h = fileHashOfSync(state);
    const s = { stateHash: h, sha256: sha256Hex(state) };
    const index = buildResultIndex({
      jobId: 1n,
      specHash: `0x${"00".repeat(32)}`,
      T: 2,
      k: 1,
      intervals: [
        [s, s],
        [s, s],
      ],
      artifactBaseUrls: [server.url],
    });
    const spec: JobSpec = {
      manifest: {} as JobSpec["manifest"],
      graph,
      hp: { lr: 0.1 },
      tolerance: { deltaUpd: 1e-3, deltaUlp: 1e-6, deltaKUpd: 1e-2, deltaKUlp: 1e-5 },
      T: 2,
      k: 1,
      maxStateBytes: 1 << 20,
      stepBudget: { flopsPerStep: 10n ** 6n },
      batch: async () => new Map(),
    };
    const sink = new Writable({
      write: (c, _e, cb) => {
        lines.push(String(c));
        cb();
      },
    });
    const outcome = await runAudit({
      spec,
      index,
      sample: [0, 1],
      client,
      runners: onnxRunnerFactory,
      settings: { threads: 1, optLevel: "all" },
      signal: new AbortController().signal,
      logger: pino({ level: "info" }, sink),
    });
    expect(outcome.kind).to.equal("skipped");
    expect(outcome.kind === "skipped" && outcome.reason).to.match(/GraphOpNotAllowedError/);
    expect(lines.join("")).to.match(/audit skipped: job cannot be checked/);
  });

  describe("when a sampled checkpoint fails to arrive (our side or the worker's?)", function () {
    /** A mirror that answers 503 for the first `failures` requests, then serves the store. */
    async function flakyMirror(failures: number): Promise<{ url: string; hits: () => number; close: () => void }> {
      let hits = 0;
      const srv = http.createServer((req, res) => {
        hits++;
        if (hits <= failures) {
          res.writeHead(503).end();
          return;
        }
        void fetch(`${server.url}${req.url}`).then(async (r) => res.writeHead(r.status).end(Buffer.from(await r.arrayBuffer())));
      });
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
      return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, hits: () => hits, close: () => srv.close() };
    }

    it("a one-off HTTP error is transient and the next attempt gets the file; wrong bytes are definitive", async function () {
      const flaky = await flakyMirror(1);
      try {
        const err = await client
          .fetchState(fileHashOfSync(state), sha256Hex(state), [flaky.url], "checkpoint 2", 1 << 20)
          .catch((e: unknown) => e);
        expect(err).to.be.instanceOf(ArtifactProblemError);
        expect((err as ArtifactProblemError).transient).to.equal(true);
        const ok = await client.fetchState(fileHashOfSync(state), sha256Hex(state), [flaky.url], "checkpoint 2", 1 << 20);
        expect(ok.stateHash).to.equal(fileHashOfSync(state));
        expect(flaky.hits()).to.equal(2);
      } finally {
        flaky.close();
      }
      // Bytes that arrive but do not match their address: the server's doing, never retried as ours.
      client = new ArtifactClient({
        store: await LocalStore.open(path.join(tmp, `cache-${Math.random()}`)),
        logger: pino({ level: "silent" }),
        retries: 0,
        timeoutMs: 2_000,
        urlPolicy: { allowPrivate: true },
      });
      const liar = http.createServer((_req, res) => res.writeHead(200).end(Buffer.from("not the state")));
      await new Promise<void>((r) => liar.listen(0, "127.0.0.1", () => r()));
      try {
        const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
        const err = await client
          .fetchState(fileHashOfSync(state), sha256Hex(state), [url], "checkpoint 3", 1 << 20)
          .catch((e: unknown) => e);
        expect((err as ArtifactProblemError).transient).to.equal(false);
        // Oversize is definitive too.
        const big = await client
          .fetchState(fileHashOfSync(state), sha256Hex(state), [server.url], "checkpoint 4", 64)
          .catch((e: unknown) => e);
        expect((big as ArtifactProblemError).transient).to.equal(false);
      } finally {
        liar.close();
      }
    });

    it("the audit defers (no interval blamed, nothing passed) until the grace period and attempts are spent", async function () {
      const graph = buildStepGraph(SPEC);
      const h = fileHashOfSync(state);
      const s = { stateHash: h, sha256: sha256Hex(state) };
      const dead = http.createServer();
      await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
      const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
      await new Promise<void>((r) => dead.close(() => r()));
      const index = buildResultIndex({
        jobId: 1n,
        specHash: `0x${"00".repeat(32)}`,
        T: 2,
        k: 1,
        intervals: [
          [s, s],
          [s, s],
        ],
        artifactBaseUrls: [deadUrl],
      });
      const spec: JobSpec = {
        manifest: {} as JobSpec["manifest"],
        graph,
        hp: { lr: 0.1 },
        tolerance: { deltaUpd: 1e-3, deltaUlp: 1e-6, deltaKUpd: 1e-2, deltaKUlp: 1e-5 },
        T: 2,
        k: 1,
        maxStateBytes: 1 << 20,
        stepBudget: { flopsPerStep: 10n ** 6n },
        batch: async () => new Map(),
      };
      const audit = (unreachable: "fail" | "defer") =>
        runAudit({
          spec,
          index,
          sample: [0, 1],
          client,
          runners: onnxRunnerFactory,
          settings: { threads: 1, optLevel: "all" },
          signal: new AbortController().signal,
          logger: pino({ level: "silent" }),
          unreachable,
        });
      const deferred = await audit("defer").catch((e: unknown) => e);
      expect(deferred).to.be.instanceOf(ArtifactsUnreachableError);
      expect((deferred as ArtifactsUnreachableError).intervals).to.deep.equal([0, 1]);
      const failed = await audit("fail");
      expect(failed.kind === "failed" && failed.failedIntervals).to.deep.equal([0, 1]);

      // The verdict: defer until both the attempt count and the grace period are spent.
      const policy = { graceMs: 1_000, minAttempts: 3 };
      expect(unreachableVerdict(undefined, 0, policy)).to.equal("defer");
      expect(unreachableVerdict({ firstAtMs: 0, attempts: 3 }, 999, policy)).to.equal("defer");
      expect(unreachableVerdict({ firstAtMs: 0, attempts: 2 }, 5_000, policy)).to.equal("defer");
      expect(unreachableVerdict({ firstAtMs: 0, attempts: 3 }, 1_000, policy)).to.equal("fail");
    });
  });
});

describe("verifier daemon: juror judgement of a step (v3 V9.1)", function () {
  this.timeout(30_000);
  let tmp: string;
  let served: LocalStore;
  let server: StoreServerHandle;
  const graph = buildStepGraph(SPEC);
  const hp = defaultHyperparameters(SPEC);
  const start = initState(SPEC, SEED);
  const x = Float32Array.from({ length: 32 }, (_, i) => ((i * 37) % 11) / 11);
  const batch: TensorMap = new Map([
    ["x", { dtype: "F32", shape: [8, 4], data: x }],
    ["y", { dtype: "I64", shape: [8], data: BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i % 2)) }],
  ]);

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-vjudge-"));
    served = await LocalStore.open(path.join(tmp, "served"));
    server = await startStoreServer({ store: served });
  });
  after(async function () {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** Serves S_0 and the worker's claimed S_1; judges step 0 with the operator's `settings`, recording the runs' settings. */
  async function judge(claimed: TensorMap, settings: readonly [RunnerSettingsChoice, RunnerSettingsChoice]) {
    const entries = [];
    for (const st of [start, claimed]) {
      const bytes = writeSafetensors(st);
      await served.put(bytes);
      entries.push({ stateHash: fileHashOfSync(bytes), sha256: sha256Hex(bytes) });
    }
    const index = buildResultIndex({
      jobId: 1n,
      specHash: `0x${"00".repeat(32)}`,
      T: 1,
      k: 1,
      intervals: [entries],
      artifactBaseUrls: [server.url],
    });
    const spec: JobSpec = {
      manifest: {} as JobSpec["manifest"],
      graph,
      hp,
      tolerance: { deltaUpd: 1e-3, deltaUlp: 1e-6, deltaKUpd: 1e-2, deltaKUlp: 1e-5 },
      T: 1,
      k: 1,
      maxStateBytes: 1 << 20,
      stepBudget: { flopsPerStep: 10n ** 6n },
      batch: async () => batch,
    };
    const ran: RunnerSettingsChoice[] = [];
    const recording: RunnerFactory = (g, s, b) => {
      ran.push(s);
      return onnxRunnerFactory(g, s, b);
    };
    const client = new ArtifactClient({
      store: await LocalStore.open(path.join(tmp, `cache-${Math.random()}`)),
      logger: pino({ level: "silent" }),
      retries: 0,
      timeoutMs: 2_000,
      urlPolicy: { allowPrivate: true },
    });
    const v = await judgeStep({
      spec,
      index,
      interval: 0,
      globalStep: 0,
      client,
      runners: recording,
      settings,
      signal: new AbortController().signal,
      logger: pino({ level: "silent" }),
    });
    return { vote: v.vote, ran };
  }

  async function honestNext(): Promise<TensorMap> {
    const r = await StepRunner.create({ graph, threads: 2, optLevel: "basic" });
    try {
      return (await r.step(start, batch, hp)).next;
    } finally {
      await r.dispose();
    }
  }

  it("runs the reference setting first even when the operator configured neither setting as the reference", async function () {
    const { vote, ran } = await judge(await honestNext(), [
      { threads: 2, optLevel: "basic" },
      { threads: 1, optLevel: "disabled" },
    ]);
    expect(ran).to.deep.equal([REFERENCE_SETTINGS, { threads: 1, optLevel: "disabled" }]);
    expect(vote).to.equal(Vote.WorkerHonest);
  });

  it("with the reference configured second, runs it first and the operator's other setting second", async function () {
    const { ran } = await judge(await honestNext(), [{ threads: 2, optLevel: "basic" }, REFERENCE_SETTINGS]);
    expect(ran).to.deep.equal([REFERENCE_SETTINGS, { threads: 2, optLevel: "basic" }]);
  });

  it("a juror seated on several disputes of one step runs it once (concurrent or later); another step runs again", async function () {
    const cache = new JudgementCache();
    const next = await honestNext();
    let runs = 0;
    const judgeStep0 = (globalStep: number) =>
      cache.judge({ jobId: 1n, interval: 0, globalStep }, async () => {
        runs++;
        return { vote: (await judge(next, [REFERENCE_SETTINGS, { threads: 1, optLevel: "disabled" }])).vote, reason: "judged" };
      });
    const [a, b] = await Promise.all([judgeStep0(0), judgeStep0(0)]);
    const c = await judgeStep0(0);
    expect(runs).to.equal(1);
    expect([a.reused, b.reused, c.reused]).to.deep.equal([false, true, true]);
    expect([a.vote, b.vote, c.vote]).to.deep.equal([Vote.WorkerHonest, Vote.WorkerHonest, Vote.WorkerHonest]);
    expect((await judgeStep0(1)).reused).to.equal(false);
    expect(runs).to.equal(2);
  });

  it("an Indeterminate verdict is not kept (states may be served later); the oldest verdict leaves a full cache", async function () {
    const cache = new JudgementCache(2);
    let runs = 0;
    const judged = (jobId: bigint, vote: 1 | 2 | 3) =>
      cache.judge({ jobId, interval: 0, globalStep: 0 }, async () => {
        runs++;
        return { vote, reason: "" };
      });
    await judged(1n, Vote.Indeterminate);
    await judged(1n, Vote.Indeterminate);
    expect(runs, "Indeterminate judged again").to.equal(2);
    await judged(2n, Vote.WorkerFault);
    await judged(3n, Vote.WorkerFault);
    await judged(4n, Vote.WorkerFault); // capacity 2: job 2's verdict leaves
    expect((await judged(4n, Vote.WorkerFault)).reused).to.equal(true);
    expect((await judged(2n, Vote.WorkerFault)).reused).to.equal(false);
    expect(runs).to.equal(6);
  });

  it("votes WorkerFault on a skipped step (S_1 = S_0)", async function () {
    const { vote } = await judge(start, [
      { threads: 1, optLevel: "all" },
      { threads: 2, optLevel: "basic" },
    ]);
    expect(vote).to.equal(Vote.WorkerFault);
  });
});
