/**
 * Malformed artifacts reach the verifier's checks as typed errors or a `skipped` audit with a clear
 * log line, never as a crash: wrong hash, oversize, truncated transfer, a step graph with a
 * disallowed op.
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { buildStepGraph, initState, type ModelSpec } from "../../../verifier/engine/onnx";
import { onnx } from "../../../verifier/engine/onnx/proto";
import { writeSafetensors } from "../../../verifier/engine/safetensors";
import { fileHashOfSync } from "../../../verifier/engine/statehash";
import { LocalStore, sha256Hex, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { buildResultIndex } from "../../../verifier/protocol/resultIndex";
import { ArtifactClient } from "../../../verifier/daemon/check/artifacts";
import { runAudit } from "../../../verifier/daemon/check/audit";
import { onnxRunnerFactory } from "../../../verifier/daemon/check/runners";
import type { JobSpec } from "../../../verifier/daemon/check/spec";
import { ArtifactProblemError } from "../../../verifier/daemon/errors";

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
    const sink = new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } });
    client = new ArtifactClient({ store: await LocalStore.open(path.join(tmp, `cache-${Math.random()}`)), logger: pino({ level: "info" }, sink), retries: 0, timeoutMs: 2_000 });
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

  it("a step graph with a disallowed op makes the audit `skipped` with a clear log line, not a dispute", async function () {
    const m = onnx.ModelProto.decode(buildStepGraph(SPEC));
    (m.graph as onnx.GraphProto).node.push(onnx.NodeProto.create({ opType: "ArgMax", name: "bad", input: ["batch.x"], output: ["bad_out"] }));
    const graph = onnx.ModelProto.encode(m).finish();
    const h = fileHashOfSync(state);
    const s = { stateHash: h, sha256: sha256Hex(state) };
    const index = buildResultIndex({ jobId: 1n, specHash: `0x${"00".repeat(32)}`, T: 2, k: 1, intervals: [[s, s], [s, s]], artifactBaseUrls: [server.url] });
    const spec: JobSpec = {
      manifest: {} as JobSpec["manifest"], graph, hp: { lr: 0.1 }, tolerance: { deltaUpd: 1e-3, deltaUlp: 1e-6, deltaKUpd: 1e-2, deltaKUlp: 1e-5 },
      T: 2, k: 1, maxStateBytes: 1 << 20, batch: async () => new Map(),
    };
    const sink = new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } });
    const outcome = await runAudit({
      spec, index, sample: [0, 1], client, runners: onnxRunnerFactory, settings: { threads: 1, optLevel: "all" },
      signal: new AbortController().signal, logger: pino({ level: "info" }, sink),
    });
    expect(outcome.kind).to.equal("skipped");
    expect(outcome.kind === "skipped" && outcome.reason).to.match(/GraphOpNotAllowedError/);
    expect(lines.join("")).to.match(/audit skipped: job cannot be checked/);
  });
});
