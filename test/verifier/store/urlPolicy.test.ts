/**
 * Protocol v3 V8.4: URLs a job or result index names. Each rule alone (pure checks), then through
 * the real fetch path against a real server on 127.0.0.1: a refused URL is never connected to.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ArtifactFetchFailedError,
  ArtifactUrlRefusedError,
  LocalStore,
  MAX_ARTIFACT_BASES,
  checkArtifactBases,
  checkArtifactUrl,
  classifyAddress,
  fetchArtifact,
  guardedLookup,
  isRetryable,
  type ArtifactUrlPolicy,
} from "../../../verifier/store";
import { makeTempDir, rejectionOf, startTestServer, type TestServer } from "./helpers";

const STRICT: ArtifactUrlPolicy = { allowPrivate: false };
const LOCAL: ArtifactUrlPolicy = { allowPrivate: true };

function ruleOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).to.be.instanceOf(ArtifactUrlRefusedError);
    return (error as ArtifactUrlRefusedError).rule;
  }
  throw new Error("expected a refusal");
}

describe("artifact URL policy (V8.4)", function () {
  describe("classifyAddress", function () {
    const cases: [string, string][] = [
      ["127.0.0.1", "loopback"],
      ["127.255.0.9", "loopback"],
      ["::1", "loopback"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["100.64.0.1", "cgnat"],
      ["100.127.255.254", "cgnat"],
      ["169.254.169.254", "link-local"],
      ["fe80::1", "link-local"],
      ["fc00::1", "unique-local"],
      ["fd12:3456::1", "unique-local"],
      ["0.0.0.0", "unspecified"],
      ["::", "unspecified"],
      ["::ffff:127.0.0.1", "ipv4-mapped"],
      ["::ffff:8.8.8.8", "ipv4-mapped"],
      ["224.0.0.1", "multicast"],
      ["255.255.255.255", "reserved"],
      ["8.8.8.8", "public"],
      ["172.32.0.1", "public"],
      ["100.128.0.1", "public"],
      ["2606:4700::1111", "public"],
    ];
    for (const [address, cls] of cases) {
      it(`${address} is ${cls}`, function () {
        expect(classifyAddress(address)).to.equal(cls);
      });
    }
  });

  describe("checkArtifactUrl", function () {
    it("accepts a public http(s) URL", function () {
      expect(checkArtifactUrl("https://mirror.example.org/store/artifacts/ab", STRICT).hostname).to.equal("mirror.example.org");
      expect(checkArtifactUrl("http://8.8.8.8:8080", STRICT).port).to.equal("8080");
    });
    it("refuses file://, ftp: and data: (scheme)", function () {
      expect(ruleOf(() => checkArtifactUrl("file:///etc/passwd", LOCAL))).to.equal("scheme");
      expect(ruleOf(() => checkArtifactUrl("ftp://mirror.example.org/x", LOCAL))).to.equal("scheme");
      expect(ruleOf(() => checkArtifactUrl("data:,hello", LOCAL))).to.equal("scheme");
    });
    it("refuses userinfo, even an empty one", function () {
      expect(ruleOf(() => checkArtifactUrl("http://user:pw@mirror.example.org", LOCAL))).to.equal("userinfo");
      expect(ruleOf(() => checkArtifactUrl("http://@mirror.example.org", LOCAL))).to.equal("userinfo");
    });
    it("refuses a query, even a bare `?` that would swallow the appended path", function () {
      expect(ruleOf(() => checkArtifactUrl("http://mirror.example.org/?x=1", LOCAL))).to.equal("query");
      expect(ruleOf(() => checkArtifactUrl("http://mirror.example.org/?", LOCAL))).to.equal("query");
    });
    it("refuses a fragment, even a bare `#`", function () {
      expect(ruleOf(() => checkArtifactUrl("http://mirror.example.org/#a", LOCAL))).to.equal("fragment");
      expect(ruleOf(() => checkArtifactUrl("http://mirror.example.org#", LOCAL))).to.equal("fragment");
    });
    it("refuses garbage and overlong URLs (malformed)", function () {
      expect(ruleOf(() => checkArtifactUrl("not a url", LOCAL))).to.equal("malformed");
      expect(ruleOf(() => checkArtifactUrl(`https://mirror.example.org/${"a".repeat(2100)}`, LOCAL))).to.equal("malformed");
    });
    it("refuses loopback, the metrics port, link-local, private, CGNAT, ULA, unspecified and mapped literals unless allowed", function () {
      for (const u of [
        "http://127.0.0.1:9464",
        "http://127.1/",
        "http://0x7f000001/",
        "http://[::1]:8080",
        "http://169.254.169.254/latest",
        "http://[fe80::1]/",
        "http://10.0.0.1/",
        "http://192.168.0.10/",
        "http://172.20.1.1/",
        "http://100.64.1.1/",
        "http://[fd00::5]/",
        "http://0.0.0.0:8080",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a00:1]/",
      ]) {
        expect(
          ruleOf(() => checkArtifactUrl(u, STRICT)),
          u,
        ).to.equal("address");
        expect(() => checkArtifactUrl(u, LOCAL), u).not.to.throw();
      }
    });
    it("names the URL and the rule in the error", function () {
      const error = (() => {
        try {
          checkArtifactUrl("http://127.0.0.1:9464/metrics", STRICT);
        } catch (e) {
          return e as ArtifactUrlRefusedError;
        }
        throw new Error("not refused");
      })();
      expect(error.uri).to.equal("http://127.0.0.1:9464/metrics");
      expect(error.message).to.include("127.0.0.1:9464").and.to.include("address").and.to.include("loopback");
      expect(isRetryable(error)).to.equal(false);
    });
  });

  describe("checkArtifactBases", function () {
    const base = (i: number) => `https://m${i}.example.org`;
    it(`accepts up to ${MAX_ARTIFACT_BASES} bases`, function () {
      expect(
        checkArtifactBases(
          Array.from({ length: MAX_ARTIFACT_BASES }, (_, i) => base(i)),
          STRICT,
        ),
      ).to.have.length(MAX_ARTIFACT_BASES);
    });
    it("refuses one more (too-many-bases)", function () {
      expect(
        ruleOf(() =>
          checkArtifactBases(
            Array.from({ length: MAX_ARTIFACT_BASES + 1 }, (_, i) => base(i)),
            STRICT,
          ),
        ),
      ).to.equal("too-many-bases");
    });
    it("refuses a list with one bad base", function () {
      expect(ruleOf(() => checkArtifactBases([base(0), "https://m.example.org/?"], STRICT))).to.equal("query");
    });
  });

  describe("guardedLookup (the address connected to)", function () {
    const resolve = (policy: ArtifactUrlPolicy, all: boolean) =>
      new Promise<unknown>((ok, fail) => {
        guardedLookup("http://localhost/", policy)("localhost", { all }, (err, address) => (err ? fail(err) : ok(address)));
      });
    it("refuses a host name that resolves to loopback", async function () {
      const error = await rejectionOf(resolve(STRICT, false));
      expect(error).to.be.instanceOf(ArtifactUrlRefusedError);
      expect((error as ArtifactUrlRefusedError).rule).to.equal("address");
      expect((error as ArtifactUrlRefusedError).message).to.match(/localhost resolves to loopback/);
      expect(await rejectionOf(resolve(STRICT, true))).to.be.instanceOf(ArtifactUrlRefusedError);
    });
    it("resolves it when private addresses are allowed, in both callback shapes", async function () {
      expect(classifyAddress(String(await resolve(LOCAL, false)))).to.equal("loopback");
      const all = (await resolve(LOCAL, true)) as { address: string }[];
      expect(all.length).to.be.greaterThan(0);
    });
  });

  describe("through the real fetch path", function () {
    let dir: string;
    let cleanup: () => Promise<void>;
    let store: LocalStore;
    let server: TestServer;
    const bytes = randomBytes(4096);
    let hash: string;

    beforeEach(async function () {
      ({ dir, cleanup } = await makeTempDir());
      store = await LocalStore.open(join(dir, "local"));
      const source = await LocalStore.open(join(dir, "source"));
      hash = await source.put(bytes);
      server = await startTestServer((_req, res) => {
        res.writeHead(200, { "Content-Length": String(bytes.length) }).end(bytes);
      });
    });
    afterEach(async function () {
      await server.close();
      await cleanup();
    });

    const FAST = { timeoutMs: 2_000, idleTimeoutMs: 1_000, retries: 1, backoffMs: 10 } as const;
    const refusals = (e: unknown) =>
      (e as ArtifactFetchFailedError).errors.map((x) => (x instanceof ArtifactUrlRefusedError ? x.rule : x.name));

    it("never contacts a loopback literal under the strict policy, and does not retry it", async function () {
      const error = await rejectionOf(
        fetchArtifact({ hash, uris: [`${server.url}/artifacts/${hash}`], store, maxBytes: 1 << 20, urlPolicy: STRICT, ...FAST }),
      );
      expect(error).to.be.instanceOf(ArtifactFetchFailedError);
      expect(refusals(error)).to.deep.equal(["address"]);
      expect(server.requests).to.have.length(0);
      expect(await store.has(hash)).to.equal(false);
    });

    it("never contacts a host name resolving to loopback (checked at connect, by the lookup)", async function () {
      const uri = `http://localhost:${server.port}/artifacts/${hash}`;
      const error = await rejectionOf(fetchArtifact({ hash, uris: [uri], store, maxBytes: 1 << 20, urlPolicy: STRICT, ...FAST }));
      expect(refusals(error)).to.deep.equal(["address"]);
      expect(server.requests).to.have.length(0);
    });

    it("fetches from loopback by host name when the operator allows private artifacts", async function () {
      await fetchArtifact({
        hash,
        uris: [`http://localhost:${server.port}/artifacts/${hash}`],
        store,
        maxBytes: 1 << 20,
        urlPolicy: LOCAL,
        ...FAST,
      });
      expect(await store.get(hash)).to.deep.equal(bytes);
      expect(server.requests).to.have.length(1);
    });

    it("refuses file:// under a policy (a job must not read the operator's disk)", async function () {
      const file = pathToFileURL(join(dir, "source", hash.slice(0, 2), hash.slice(2))).href;
      const error = await rejectionOf(fetchArtifact({ hash, uris: [file], store, maxBytes: 1 << 20, urlPolicy: LOCAL, ...FAST }));
      expect(refusals(error)).to.deep.equal(["scheme"]);
      expect(await store.has(hash)).to.equal(false);
    });

    it("skips refused mirrors and fetches from the allowed one", async function () {
      const uris = [
        `${server.url}/artifacts/${hash}?x`,
        `http://u@127.0.0.1:${server.port}/artifacts/${hash}`,
        `${server.url}/artifacts/${hash}`,
      ];
      await fetchArtifact({ hash, uris, store, maxBytes: 1 << 20, urlPolicy: LOCAL, ...FAST });
      expect(server.requests.map((r) => r.path)).to.deep.equal([`/artifacts/${hash}`]);
    });
  });
});
