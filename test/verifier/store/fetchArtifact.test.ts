import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ServerResponse } from "node:http";
import {
  ArtifactFetchFailedError,
  ArtifactHashMismatchError,
  ArtifactHttpError,
  ArtifactNetworkError,
  ArtifactNotFoundError,
  ArtifactTimeoutError,
  ArtifactTooLargeError,
  ArtifactTruncatedError,
  InvalidArtifactHashError,
  InvalidStoreOptionError,
  LocalStore,
  UnsupportedUriError,
  backoffDelay,
  fetchArtifact,
  isRetryable,
  startStoreServer,
  type FetchArtifactParameters,
  type StoreServerHandle,
} from "../../../verifier/store";
import { deadUrl, expectStoreHolds, makeTempDir, rejectionOf, startTestServer, type TestServer } from "./helpers";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Short limits so every failure case finishes in well under a second. */
const FAST = { timeoutMs: 2_000, idleTimeoutMs: 300, retries: 0, backoffMs: 10, maxBackoffMs: 50 } as const;

/** Runs fetchArtifact expecting it to fail; returns the aggregate error. */
async function fetchFailure(params: FetchArtifactParameters): Promise<ArtifactFetchFailedError> {
  const error = await rejectionOf(fetchArtifact(params));
  expect(error).to.be.instanceOf(ArtifactFetchFailedError);
  return error as ArtifactFetchFailedError;
}

/** Keeps writing 16 KiB chunks (chunked encoding, no length) until the client goes away. */
function streamForever(res: ServerResponse): void {
  res.writeHead(200, { "Content-Type": "application/octet-stream" });
  const chunk = randomBytes(16 * 1024);
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once("drain", pump);
  };
  pump();
}

describe("fetchArtifact", function () {
  let dir: string;
  let cleanup: () => Promise<void>;
  let source: LocalStore;
  let store: LocalStore;
  let mirror: StoreServerHandle;
  let bytes: Buffer;
  let hash: string;
  const hostile: TestServer[] = [];

  /** A mirror with scripted behaviour, closed after the test. */
  async function hostileServer(handler: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
    const server = await startTestServer(handler);
    hostile.push(server);
    return server;
  }

  beforeEach(async function () {
    ({ dir, cleanup } = await makeTempDir());
    source = await LocalStore.open(join(dir, "mirror"));
    store = await LocalStore.open(join(dir, "local"));
    bytes = randomBytes(256 * 1024 + 3);
    hash = await source.put(bytes);
    mirror = await startStoreServer({ store: source });
  });
  afterEach(async function () {
    await mirror.close();
    await Promise.all(hostile.splice(0).map((s) => s.close()));
    await cleanup();
  });

  describe("when the mirror is honest", function () {
    it("downloads, verifies and stores the artifact, returning its local path", async function () {
      const path = await fetchArtifact({ hash, uris: [`${mirror.url}/artifacts/${hash}`], store, maxBytes: bytes.length, ...FAST });
      expect(path).to.equal(store.path(hash));
      expect(await readFile(path)).to.deep.equal(bytes);
      await expectStoreHolds(store, [hash]);
    });

    it("returns a stored artifact without contacting any mirror", async function () {
      await store.put(bytes);
      const path = await fetchArtifact({ hash, uris: [await deadUrl()], store, maxBytes: bytes.length, ...FAST });
      expect(path).to.equal(store.path(hash));
    });

    it("lets concurrent fetches of the same artifact all succeed into one file", async function () {
      const uris = [`${mirror.url}/artifacts/${hash}`];
      const paths = await Promise.all(
        Array.from({ length: 6 }, () => fetchArtifact({ hash, uris, store, maxBytes: bytes.length, ...FAST })),
      );
      expect(new Set(paths)).to.deep.equal(new Set([store.path(hash)]));
      await expectStoreHolds(store, [hash]);
    });
  });

  describe("when the mirror does not have the hash", function () {
    it("fails with ArtifactNotFoundError, tried once (404 is not retried)", async function () {
      const unknown = sha(Buffer.from("nobody has this"));
      const counter = await hostileServer((_req, res) => {
        res.writeHead(404).end();
      });
      const error = await fetchFailure({
        hash: unknown,
        uris: [`${mirror.url}/artifacts/${unknown}`, `${counter.url}/artifacts/${unknown}`],
        store,
        maxBytes: 100,
        ...FAST,
        retries: 3,
      });
      expect(error.attempts.map((a) => a.error.constructor)).to.deep.equal([ArtifactNotFoundError, ArtifactNotFoundError]);
      expect(error.attempts.map((a) => a.uri)).to.deep.equal([`${mirror.url}/artifacts/${unknown}`, `${counter.url}/artifacts/${unknown}`]);
      expect(counter.requests).to.have.length(1);
      await expectStoreHolds(store, []);
    });
  });

  describe("when the mirror serves other bytes", function () {
    it("fails with ArtifactHashMismatchError naming both hashes and keeps nothing", async function () {
      const other = randomBytes(5000);
      const liar = await hostileServer((_req, res) => {
        res.writeHead(200, { "Content-Length": other.length }).end(other);
      });
      const error = await fetchFailure({
        hash,
        uris: [`${liar.url}/artifacts/${hash}`],
        store,
        maxBytes: bytes.length,
        ...FAST,
        retries: 2,
      });
      expect(error.attempts).to.have.length(1); // wrong bytes are not retried on the same mirror
      const cause = error.attempts[0].error as ArtifactHashMismatchError;
      expect(cause).to.be.instanceOf(ArtifactHashMismatchError);
      expect(cause.expected).to.equal(hash);
      expect(cause.actual).to.equal(sha(other));
      await expectStoreHolds(store, []);
    });
  });

  describe("when the artifact is larger than maxBytes", function () {
    it("aborts at once on a Content-Length above the limit, without reading the body", async function () {
      const big = await hostileServer((_req, res) => {
        res.writeHead(200, { "Content-Length": 10 * 1024 * 1024 });
        res.write(randomBytes(1000)); // then hang: only the declared size may stop the client
      });
      const started = Date.now();
      const error = await fetchFailure({ hash, uris: [`${big.url}/a`], store, maxBytes: 4096, ...FAST, idleTimeoutMs: 5_000 });
      expect(Date.now() - started).to.be.below(1_000);
      const cause = error.attempts[0].error as ArtifactTooLargeError;
      expect(cause).to.be.instanceOf(ArtifactTooLargeError);
      expect(cause.declared).to.equal(true);
      expect(cause.bytes).to.equal(10 * 1024 * 1024);
      await expectStoreHolds(store, []);
    });

    it("aborts a chunked body without length as soon as it passes the limit", async function () {
      const endless = await hostileServer((_req, res) => streamForever(res));
      const error = await fetchFailure({ hash, uris: [`${endless.url}/a`], store, maxBytes: 100_000, ...FAST });
      const cause = error.attempts[0].error as ArtifactTooLargeError;
      expect(cause).to.be.instanceOf(ArtifactTooLargeError);
      expect(cause.declared).to.equal(false);
      expect(cause.maxBytes).to.equal(100_000);
      await expectStoreHolds(store, []);
    });
  });

  describe("when the mirror is slow (slow loris)", function () {
    it("aborts a body that stalls with an idle timeout", async function () {
      const staller = await hostileServer((_req, res) => {
        res.writeHead(200, { "Content-Length": bytes.length });
        res.write(bytes.subarray(0, 1000));
      });
      const started = Date.now();
      const error = await fetchFailure({ hash, uris: [`${staller.url}/a`], store, maxBytes: bytes.length, ...FAST, idleTimeoutMs: 150 });
      const cause = error.attempts[0].error as ArtifactTimeoutError;
      expect(cause).to.be.instanceOf(ArtifactTimeoutError);
      expect(cause.kind).to.equal("idle");
      expect(cause.bytesReceived).to.equal(1000);
      expect(Date.now() - started).to.be.within(140, 1_500);
      await expectStoreHolds(store, []);
    });

    it("aborts a server that never answers with an idle timeout", async function () {
      const silent = await hostileServer(() => undefined);
      const error = await fetchFailure({ hash, uris: [`${silent.url}/a`], store, maxBytes: bytes.length, ...FAST, idleTimeoutMs: 100 });
      const cause = error.attempts[0].error as ArtifactTimeoutError;
      expect(cause).to.be.instanceOf(ArtifactTimeoutError);
      expect(cause.kind).to.equal("idle");
      expect(cause.bytesReceived).to.equal(0);
    });

    it("aborts a server that trickles bytes under the idle limit with the overall timeout", async function () {
      const trickler = await hostileServer((req, res) => {
        res.writeHead(200, { "Content-Length": bytes.length });
        const timer = setInterval(() => res.write(bytes.subarray(0, 1)), 10);
        req.socket.once("close", () => clearInterval(timer));
      });
      const started = Date.now();
      const error = await fetchFailure({
        hash,
        uris: [`${trickler.url}/a`],
        store,
        maxBytes: bytes.length,
        timeoutMs: 250,
        idleTimeoutMs: 200,
        retries: 0,
      });
      const cause = error.attempts[0].error as ArtifactTimeoutError;
      expect(cause).to.be.instanceOf(ArtifactTimeoutError);
      expect(cause.kind).to.equal("overall");
      expect(cause.bytesReceived).to.be.above(0);
      expect(Date.now() - started).to.be.within(240, 1_500);
      await expectStoreHolds(store, []);
    });
  });

  describe("when the mirror closes the connection early", function () {
    it("fails with ArtifactTruncatedError on a short Content-Length body and retries it", async function () {
      const cutter = await hostileServer((req, res) => {
        res.writeHead(200, { "Content-Length": bytes.length });
        res.write(bytes.subarray(0, 5000), () => req.socket.destroy());
      });
      const error = await fetchFailure({ hash, uris: [`${cutter.url}/a`], store, maxBytes: bytes.length, ...FAST, retries: 1 });
      expect(error.attempts).to.have.length(2);
      for (const attempt of error.attempts) {
        expect(attempt.error).to.be.instanceOf(ArtifactTruncatedError);
        expect((attempt.error as ArtifactTruncatedError).expectedBytes).to.equal(bytes.length);
      }
      expect(cutter.requests).to.have.length(2);
      await expectStoreHolds(store, []);
    });

    it("fails with ArtifactTruncatedError when a chunked body is cut", async function () {
      const cutter = await hostileServer((req, res) => {
        res.writeHead(200);
        res.write(bytes.subarray(0, 5000), () => req.socket.destroy());
      });
      const error = await fetchFailure({ hash, uris: [`${cutter.url}/a`], store, maxBytes: bytes.length, ...FAST });
      const cause = error.attempts[0].error as ArtifactTruncatedError;
      expect(cause).to.be.instanceOf(ArtifactTruncatedError);
      expect(cause.expectedBytes).to.equal(undefined);
      await expectStoreHolds(store, []);
    });
  });

  describe("when the URI is file://", function () {
    it("copies, verifies and stores a local file", async function () {
      const file = join(dir, "outside", "state.bin");
      await mkdir(join(dir, "outside"));
      await writeFile(file, bytes);
      const path = await fetchArtifact({ hash, uris: [pathToFileURL(file).href], store, maxBytes: bytes.length, ...FAST });
      expect(await readFile(path)).to.deep.equal(bytes);
      await expectStoreHolds(store, [hash]);
    });

    it("fails with ArtifactNotFoundError for a missing file or a directory", async function () {
      const error = await fetchFailure({
        hash,
        uris: [pathToFileURL(join(dir, "missing.bin")).href, pathToFileURL(dir).href],
        store,
        maxBytes: bytes.length,
        ...FAST,
        retries: 2,
      });
      expect(error.attempts.map((a) => a.error.constructor)).to.deep.equal([ArtifactNotFoundError, ArtifactNotFoundError]);
      await expectStoreHolds(store, []);
    });

    it("fails with ArtifactTooLargeError or ArtifactHashMismatchError for a bad local file", async function () {
      const file = join(dir, "wrong.bin");
      await writeFile(file, randomBytes(2000));
      const tooLarge = await fetchFailure({ hash, uris: [pathToFileURL(file).href], store, maxBytes: 1000, ...FAST });
      expect(tooLarge.attempts[0].error).to.be.instanceOf(ArtifactTooLargeError);
      const wrong = await fetchFailure({ hash, uris: [pathToFileURL(file).href], store, maxBytes: bytes.length, ...FAST });
      expect(wrong.attempts[0].error).to.be.instanceOf(ArtifactHashMismatchError);
      await expectStoreHolds(store, []);
    });
  });

  describe("when a URI is not usable", function () {
    it("fails each with UnsupportedUriError, not retried", async function () {
      const uris = ["ftp://127.0.0.1/a", "ipfs://bafy", "not a uri", "file://remote-host/etc/passwd"];
      const error = await fetchFailure({ hash, uris, store, maxBytes: 10, ...FAST, retries: 3 });
      expect(error.attempts.map((a) => a.uri)).to.deep.equal(uris);
      for (const attempt of error.attempts) expect(attempt.error).to.be.instanceOf(UnsupportedUriError);
    });

    it("rejects bad parameters before any transfer", async function () {
      const base = { hash, uris: [`${mirror.url}/artifacts/${hash}`], store, maxBytes: 10 };
      expect(await rejectionOf(fetchArtifact({ ...base, hash: hash.toUpperCase() }))).to.be.instanceOf(InvalidArtifactHashError);
      expect(await rejectionOf(fetchArtifact({ ...base, uris: [] }))).to.be.instanceOf(InvalidStoreOptionError);
      expect(await rejectionOf(fetchArtifact({ ...base, maxBytes: -1 }))).to.be.instanceOf(InvalidStoreOptionError);
      expect(await rejectionOf(fetchArtifact({ ...base, timeoutMs: 0 }))).to.be.instanceOf(InvalidStoreOptionError);
      expect(await rejectionOf(fetchArtifact({ ...base, retries: 1.5 }))).to.be.instanceOf(InvalidStoreOptionError);
      await expectStoreHolds(store, []);
    });
  });

  describe("when earlier mirrors fail", function () {
    it("falls back past a 500 mirror and a down mirror to a good one", async function () {
      const broken = await hostileServer((_req, res) => {
        res.writeHead(500).end("oops");
      });
      const down = await deadUrl();
      const path = await fetchArtifact({
        hash,
        uris: [`${broken.url}/artifacts/${hash}`, `${down}/artifacts/${hash}`, `${mirror.url}/artifacts/${hash}`],
        store,
        maxBytes: bytes.length,
        ...FAST,
        retries: 2,
      });
      expect(await readFile(path)).to.deep.equal(bytes);
      expect(broken.requests).to.have.length(1); // the good mirror answered in the first round
      await expectStoreHolds(store, [hash]);
    });

    it("falls back past a mirror serving wrong bytes", async function () {
      const liar = await hostileServer((_req, res) => {
        res.end("not it");
      });
      const path = await fetchArtifact({
        hash,
        uris: [`${liar.url}/x`, `${mirror.url}/artifacts/${hash}`],
        store,
        maxBytes: bytes.length,
        ...FAST,
      });
      expect(path).to.equal(store.path(hash));
      await expectStoreHolds(store, [hash]);
    });

    it("lists every mirror's cause when all fail", async function () {
      const forbidden = await hostileServer((_req, res) => {
        res.writeHead(403).end();
      });
      const down = await deadUrl();
      const error = await fetchFailure({
        hash,
        uris: [`${forbidden.url}/a`, `${down}/a`],
        store,
        maxBytes: bytes.length,
        ...FAST,
        retries: 1,
      });
      expect(error.attempts.map((a) => [a.uri, a.attempt, a.error.constructor])).to.deep.equal([
        [`${forbidden.url}/a`, 0, ArtifactHttpError],
        [`${down}/a`, 0, ArtifactNetworkError],
        [`${down}/a`, 1, ArtifactNetworkError],
      ]);
      expect((error.attempts[0].error as ArtifactHttpError).status).to.equal(403);
      expect(error.message).to.contain("ArtifactHttpError").and.to.contain("ArtifactNetworkError");
      await expectStoreHolds(store, []);
    });
  });

  describe("when a mirror keeps failing transiently", function () {
    it("retries `retries` times with exponential backoff, then gives up", async function () {
      const flaky = await hostileServer((_req, res) => {
        res.writeHead(503).end();
      });
      const started = Date.now();
      const error = await fetchFailure({
        hash,
        uris: [`${flaky.url}/a`],
        store,
        maxBytes: 10,
        ...FAST,
        retries: 3,
        backoffMs: 20,
        maxBackoffMs: 50,
      });
      const elapsed = Date.now() - started;
      expect(flaky.requests).to.have.length(4);
      expect(error.attempts.map((a) => a.attempt)).to.deep.equal([0, 1, 2, 3]);
      const gaps = flaky.requests.slice(1).map((r, i) => r.at - flaky.requests[i].at);
      // Waits 20, 40, then 50 (capped from 80) ms; a little timer slack below, generous above.
      expect(gaps[0]).to.be.at.least(18);
      expect(gaps[1]).to.be.at.least(38);
      expect(gaps[2]).to.be.at.least(48);
      expect(elapsed).to.be.below(2_000);
    });

    it("succeeds when the mirror recovers within the retries", async function () {
      let calls = 0;
      const recovering = await hostileServer((_req, res) => {
        calls++;
        if (calls < 3) res.writeHead(503).end();
        else res.writeHead(200, { "Content-Length": bytes.length }).end(bytes);
      });
      const path = await fetchArtifact({ hash, uris: [`${recovering.url}/a`], store, maxBytes: bytes.length, ...FAST, retries: 2 });
      expect(await readFile(path)).to.deep.equal(bytes);
      expect(calls).to.equal(3);
    });
  });
});

describe("retry policy", function () {
  it("doubles the delay per round and caps it", function () {
    expect([0, 1, 2, 3, 4, 10].map((r) => backoffDelay(r, 100, 1_000))).to.deep.equal([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("retries transient failures only", function () {
    const s = "http://x";
    expect(isRetryable(new ArtifactTimeoutError("idle", 1, 0, s))).to.equal(true);
    expect(isRetryable(new ArtifactTruncatedError(1, 2, s))).to.equal(true);
    expect(isRetryable(new ArtifactNetworkError(s, new Error("ECONNREFUSED")))).to.equal(true);
    expect([500, 502, 503, 408, 429].map((c) => isRetryable(new ArtifactHttpError(c, s)))).to.deep.equal([true, true, true, true, true]);
    expect([400, 401, 403, 301].map((c) => isRetryable(new ArtifactHttpError(c, s)))).to.deep.equal([false, false, false, false]);
    expect(isRetryable(new ArtifactNotFoundError("0".repeat(64), s))).to.equal(false);
    expect(isRetryable(new ArtifactHashMismatchError("a", "b", s))).to.equal(false);
    expect(isRetryable(new ArtifactTooLargeError(1, 2, s, true))).to.equal(false);
    expect(isRetryable(new UnsupportedUriError(s, "x"))).to.equal(false);
    expect(isRetryable(new Error("plain"))).to.equal(false);
  });
});
