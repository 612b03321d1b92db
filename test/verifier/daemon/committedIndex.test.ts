/**
 * v3 V1.4 off chain: the tolerant reading of a result index (any bytes whose checkpoints rebuild
 * the on-chain root; whitespace, key order and unknown fields do not matter), per-interval
 * verdicts, the verdict cache per content address (a bad index is parsed once, fetches back off)
 * and the off-thread parse.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import type { Hash } from "../../../verifier/protocol/hashing";
import {
  buildResultIndex,
  encodeResultIndex,
  resultUri,
  type IndexedState,
  type ResultIndex,
} from "../../../verifier/protocol/resultIndex";
import { CheckpointsUnverifiableError, readCommittedIndex, type CommittedJob } from "../../../verifier/protocol/committedIndex";
import { canonicalJsonBytes } from "../../../verifier/protocol/canonicalJson";
import { cheatIndexBytes, tamperedInterval } from "../../../verifier/worker/publishCheats";
import { LocalStore, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { ArtifactClient } from "../../../verifier/daemon/check/artifacts";
import { parseCommittedIndex } from "../../../verifier/daemon/check/indexParse";
import { IndexPendingError, ResultIndexCache } from "../../../verifier/daemon/check/resultIndex";

function h(s: string): Hash {
  return `0x${createHash("sha256").update(s).digest("hex")}`;
}
function st(tag: string): IndexedState {
  return { stateHash: h(`state${tag}`), sha256: createHash("sha256").update(`file${tag}`).digest("hex") };
}
const T = 12,
  k = 3;
function honest(): ResultIndex {
  const intervals: IndexedState[][] = [];
  for (let i = 0; i < T / k; i++) intervals.push(Array.from({ length: k + 1 }, (_, j) => st(String(i * k + j))));
  return buildResultIndex({ jobId: 7n, specHash: h("spec"), T, k, intervals, artifactBaseUrls: ["http://127.0.0.1:9000"] });
}
const idx = honest();
const job: CommittedJob = {
  jobId: 7n,
  checkpointRoot: idx.checkpointRoot,
  totalSteps: T,
  checkpointInterval: k,
  fallbackBaseUrl: "http://fallback:1",
};
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), "utf8");

describe("verifier daemon: tolerant result index (v3 V1.4)", function () {
  describe("readCommittedIndex", function () {
    it("reads pretty-printed, reordered and extra-field indexes as the canonical one", function () {
      const want = readCommittedIndex(encodeResultIndex(idx), job);
      expect(want.failed).to.deep.equal([]);
      const reordered = Object.fromEntries(Object.entries(idx).reverse());
      for (const bytes of [
        cheatIndexBytes("pretty", idx),
        cheatIndexBytes("extra-field", idx),
        json(reordered),
        Buffer.from(`\n ${JSON.stringify(idx, null, "\t")} \n`),
      ]) {
        const got = readCommittedIndex(bytes, job);
        expect(got.failed).to.deep.equal([]);
        expect(got.index).to.deep.equal(want.index);
      }
    });

    it("judges intervals one by one: a bad step root, missing or malformed steps fail only their interval", function () {
      const bad = readCommittedIndex(cheatIndexBytes("bad-step-root", idx), job);
      const i = tamperedInterval(idx);
      expect(bad.failed.map((f) => [f.interval, f.problem])).to.deep.equal([[i, "step-root-mismatch"]]);
      expect(bad.failed[0]!.listed).to.have.length(k + 1); // store addresses kept for the chain's leaves
      expect(bad.index.intervals[i]!.steps).to.deep.equal([]);
      bad.index.intervals.forEach((r, n) => n !== i && expect(r).to.deep.equal(idx.intervals[n]));

      const withheld = readCommittedIndex(cheatIndexBytes("withhold-steps", idx), job);
      expect(withheld.failed.map((f) => [f.interval, f.problem])).to.deep.equal([[i, "missing"]]);

      const raw = JSON.parse(encodeResultIndex(idx).toString()) as { intervals: { steps: unknown[] }[] };
      raw.intervals[0]!.steps[2] = { stateHash: "nope", sha256: 5 };
      raw.intervals[1]!.steps.pop();
      (raw.intervals as unknown[])[3] = "garbage";
      const mixed = readCommittedIndex(json(raw), job);
      expect(mixed.failed.map((f) => [f.interval, f.problem])).to.deep.equal([
        [0, "malformed"],
        [1, "malformed"],
        [3, "missing"],
      ]);
      expect(mixed.failed[0]!.listed[2]).to.equal(null);
      expect(mixed.index.intervals[2]).to.deep.equal(idx.intervals[2]);
    });

    it("an intervals list that is absent fails every interval but keeps the checkpoints", function () {
      const { intervals: _drop, ...rest } = idx;
      const r = readCommittedIndex(canonicalJsonBytes(rest), job);
      expect(r.failed.map((f) => f.interval)).to.deep.equal([0, 1, 2, 3]);
      expect(r.index.checkpoints).to.deep.equal(idx.checkpoints);
    });

    it("refuses what the chain cannot back: no JSON, withheld or altered checkpoints, another root or T/k", function () {
      const cases: [Buffer | string, CommittedJob][] = [
        ["{not json", job],
        ["[1,2]", job],
        [cheatIndexBytes("withhold-checkpoints", idx), job],
        [json({ ...idx, checkpoints: idx.checkpoints.map((c, n) => (n === 1 ? { ...c, stepRoot: h("x") } : c)) }), job],
        [encodeResultIndex(idx), { ...job, checkpointRoot: h("other") }],
        [encodeResultIndex(idx), { ...job, totalSteps: 24 }],
      ];
      for (const [bytes, j] of cases) expect(() => readCommittedIndex(bytes, j)).to.throw(CheckpointsUnverifiableError);
    });

    it("ignores the index's own jobId/version/checkpointRoot fields and falls back to the served base for bad URLs", function () {
      const r = readCommittedIndex(
        json({ ...idx, jobId: "99", version: 42, checkpointRoot: h("lie"), artifactBaseUrls: ["file:///etc"] }),
        job,
      );
      expect(r.failed).to.deep.equal([]);
      expect(r.index.checkpointRoot).to.equal(idx.checkpointRoot);
      expect(r.index.jobId).to.equal("7");
      expect(r.index.artifactBaseUrls).to.deep.equal(["http://fallback:1"]);
    });
  });

  describe("parseCommittedIndex (off the event loop)", function () {
    this.timeout(60_000);
    it("a worker thread reads the same verdicts and maps an unverifiable index to its error", async function () {
      const where: string[] = [];
      const onParse = (w: string) => where.push(w);
      const inline = await parseCommittedIndex(cheatIndexBytes("bad-step-root", idx), job, { onParse });
      const threaded = await parseCommittedIndex(cheatIndexBytes("bad-step-root", idx), job, { offThreadBytes: 0, onParse });
      expect(threaded).to.deep.equal(inline);
      const err = await parseCommittedIndex(cheatIndexBytes("withhold-checkpoints", idx), job, { offThreadBytes: 0, onParse }).catch(
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(CheckpointsUnverifiableError);
      expect(where).to.deep.equal(["inline", "thread", "thread"]);
    });
  });

  describe("ResultIndexCache", function () {
    this.timeout(30_000);
    let tmp: string;
    let served: LocalStore;
    let server: StoreServerHandle;
    before(async function () {
      tmp = await mkdtemp(path.join(tmpdir(), "upow-vindex-"));
      served = await LocalStore.open(path.join(tmp, "served"));
      server = await startStoreServer({ store: served });
    });
    after(async function () {
      await server.close();
      await rm(tmp, { recursive: true, force: true });
    });
    const cache = async (now: () => number, parses: string[]) =>
      new ResultIndexCache({
        client: new ArtifactClient({
          store: await LocalStore.open(path.join(tmp, `c-${Math.random()}`)),
          logger: pino({ level: "silent" }),
          retries: 0,
          timeoutMs: 2_000,
          urlPolicy: { allowPrivate: true },
        }),
        unserved: { graceMs: 10_000, minAttempts: 3 },
        backoffMs: 1_000,
        now,
        parse: { onParse: (w) => parses.push(w) },
      });
    const terms = (uri: string) => ({
      resultURI: uri,
      jobId: 7n,
      checkpointRoot: idx.checkpointRoot,
      totalSteps: BigInt(T),
      checkpointInterval: BigInt(k),
    });

    it("parses a bad index once, however often it is asked", async function () {
      const bytes = cheatIndexBytes("withhold-checkpoints", idx);
      const uri = resultUri(server.url, await served.put(bytes));
      const parses: string[] = [];
      const c = await cache(() => 0, parses);
      const verdicts = await Promise.all(Array.from({ length: 5 }, () => c.verdict(terms(uri))));
      for (let n = 0; n < 5; n++) verdicts.push(await c.verdict(terms(uri)));
      expect(parses).to.have.length(1);
      for (const v of verdicts) expect(v.kind).to.equal("unverifiable");
    });

    it("keeps at most maxEntries verdicts, dropping the least recently used", async function () {
      const uris = [];
      for (const mode of ["pretty", "extra-field", "withhold-checkpoints"] as const)
        uris.push(resultUri(server.url, await served.put(cheatIndexBytes(mode, idx))));
      const parses: string[] = [];
      const c = new ResultIndexCache({
        client: new ArtifactClient({
          store: await LocalStore.open(path.join(tmp, `c-${Math.random()}`)),
          logger: pino({ level: "silent" }),
          retries: 0,
          urlPolicy: { allowPrivate: true },
        }),
        unserved: { graceMs: 0, minAttempts: 1 },
        maxEntries: 2,
        parse: { onParse: (w) => parses.push(w) },
      });
      await c.verdict(terms(uris[0]!));
      await c.verdict(terms(uris[1]!));
      await c.verdict(terms(uris[0]!)); // 0 is now the most recent
      await c.verdict(terms(uris[2]!)); // drops 1
      await c.verdict(terms(uris[0]!));
      expect(parses).to.have.length(3);
      await c.verdict(terms(uris[1]!));
      expect(parses).to.have.length(4);
    });

    it("backs off a fetch that fails, then judges the index not served once the grace is spent", async function () {
      const missing = resultUri(server.url, "cd".repeat(32));
      let t = 0;
      const c = await cache(() => t, []);
      const tries = async () => await c.verdict(terms(missing)).catch((e: unknown) => e);
      expect(await tries()).to.be.instanceOf(IndexPendingError); // attempt 1, retry in 1 s
      t = 500;
      const early = await tries();
      expect(early).to.be.instanceOf(IndexPendingError);
      expect((early as IndexPendingError).shortMessage).to.match(/retry pending/); // no fetch
      t = 1_000;
      expect(await tries()).to.be.instanceOf(IndexPendingError); // attempt 2, retry in 2 s
      t = 2_999;
      expect(((await tries()) as IndexPendingError).shortMessage).to.match(/retry pending/);
      t = 10_000;
      const v = await c.verdict(terms(missing)); // attempt 3, grace over
      expect(v).to.deep.include({ kind: "unverifiable" });
    });

    it("bytes that do not match their content address, or oversize ones, are unverifiable at once (no retry)", async function () {
      const good = encodeResultIndex(idx);
      const liar = http.createServer((_req, res) => res.end(cheatIndexBytes("pretty", idx)));
      await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
      try {
        const sha = createHash("sha256").update(good).digest("hex");
        const c = await cache(() => 0, []);
        const v = await c.verdict(terms(`http://127.0.0.1:${(liar.address() as AddressInfo).port}/artifacts/${sha}`));
        expect(v).to.deep.include({ kind: "unverifiable" });
        const uri = resultUri(server.url, await served.put(good));
        const small = new ResultIndexCache({
          client: new ArtifactClient({
            store: await LocalStore.open(path.join(tmp, `c-${Math.random()}`)),
            logger: pino({ level: "silent" }),
            retries: 0,
            urlPolicy: { allowPrivate: true },
          }),
          unserved: { graceMs: 10_000, minAttempts: 3 },
          maxBytes: 100,
        });
        expect(await small.verdict(terms(uri))).to.deep.include({ kind: "unverifiable" });
      } finally {
        await new Promise((r) => liar.close(r));
      }
    });

    it("accepts the pretty-printed bytes its content address names and judges them like the canonical ones", async function () {
      const uri = resultUri(server.url, await served.put(cheatIndexBytes("pretty", idx)));
      const v = await (await cache(() => 0, [])).verdict(terms(uri));
      expect(v.kind).to.equal("committed");
      if (v.kind === "committed") expect(v.committed.index.intervals).to.deep.equal(idx.intervals);
    });
  });
});
