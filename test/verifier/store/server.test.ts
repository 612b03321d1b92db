import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidStoreOptionError, LocalStore, serveStoreCommand, startStoreServer, type StoreServerHandle } from "../../../verifier/store";
import { makeTempDir, rawRequest, rejectionOf } from "./helpers";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("startStoreServer", function () {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: LocalStore;
  let server: StoreServerHandle;
  let bytes: Buffer;
  let hash: string;

  beforeEach(async function () {
    ({ dir, cleanup } = await makeTempDir());
    store = await LocalStore.open(join(dir, "store"));
    bytes = randomBytes(1024 * 1024 + 17);
    hash = await store.put(bytes);
    server = await startStoreServer({ store });
  });
  afterEach(async function () {
    await server.close();
    await cleanup();
  });

  describe("when an artifact is stored", function () {
    it("GET streams it with Content-Length, octet-stream type and the hash as ETag", async function () {
      expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await rawRequest(server.url, `/artifacts/${hash}`);
      expect(res.status).to.equal(200);
      expect(res.headers["content-length"]).to.equal(String(bytes.length));
      expect(res.headers["content-type"]).to.equal("application/octet-stream");
      expect(res.headers.etag).to.equal(`"${hash}"`);
      expect(sha(res.body)).to.equal(hash);
    });

    it("HEAD answers the same headers and no body", async function () {
      const res = await rawRequest(server.url, `/artifacts/${hash}`, "HEAD");
      expect(res.status).to.equal(200);
      expect(res.headers["content-length"]).to.equal(String(bytes.length));
      expect(res.headers.etag).to.equal(`"${hash}"`);
      expect(res.body.length).to.equal(0);
    });

    it("answers 304 when If-None-Match carries the ETag", async function () {
      const res = await rawRequest(server.url, `/artifacts/${hash}`, "GET", { "If-None-Match": `"${hash}"` });
      expect(res.status).to.equal(304);
      expect(res.body.length).to.equal(0);
    });

    it("ignores a query string", async function () {
      const res = await rawRequest(server.url, `/artifacts/${hash}?x=1`);
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(bytes.length);
    });
  });

  describe("when the hash is well-formed but unknown", function () {
    it("GET and HEAD answer 404", async function () {
      const unknown = sha(Buffer.from("unknown"));
      expect((await rawRequest(server.url, `/artifacts/${unknown}`)).status).to.equal(404);
      expect((await rawRequest(server.url, `/artifacts/${unknown}`, "HEAD")).status).to.equal(404);
    });
  });

  describe("when the path is not exactly /artifacts/<64 lowercase hex>", function () {
    const attempts = (h: string) => [
      "/artifacts/../../etc/passwd",
      "/artifacts/..%2f..%2fetc%2fpasswd",
      "/artifacts/%2e%2e/%2e%2e/etc/passwd",
      "/artifacts/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
      "/artifacts/....//....//etc/passwd",
      "/artifacts/../secret.txt",
      "/artifacts/..\\..\\secret.txt",
      "/artifacts/%00",
      "/artifacts/",
      `/artifacts/${h.toUpperCase()}`,
      `/artifacts/${h.slice(1)}`,
      `/artifacts/${h}0`,
      `/artifacts/${h}/`,
      `/artifacts/${h}%00`,
      `/artifacts//${h}`,
      `/artifacts/${h.slice(0, 2)}/${h.slice(2)}`,
      `/artifacts/./${h}`,
      `/artifacts/%${h.slice(0, 2)}${h.slice(2)}`,
    ];

    it("answers 400 and never serves a file from outside the store", async function () {
      // A real file right beside the store: a traversal that worked would leak it.
      await writeFile(join(dir, "secret.txt"), "TOP SECRET");
      await mkdir(join(dir, "store", "etc"), { recursive: true });
      for (const path of attempts(hash)) {
        const res = await rawRequest(server.url, path);
        expect(res.status, path).to.equal(400);
        expect(res.body.toString(), path).not.to.contain("TOP SECRET");
        expect(res.body.toString(), path).not.to.contain("root:");
      }
    });
  });

  describe("when the method is not GET or HEAD", function () {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      it(`${method} answers 405 with Allow and changes nothing`, async function () {
        const res = await rawRequest(server.url, `/artifacts/${hash}`, method);
        expect(res.status).to.equal(405);
        expect(res.headers.allow).to.equal("GET, HEAD");
        expect(await store.list()).to.deep.equal([hash]);
        expect((await rawRequest(server.url, "/healthz", method)).status).to.equal(405);
      });
    }
  });

  describe("when probing other routes", function () {
    it("/healthz answers 200 ok and unknown routes 404", async function () {
      const health = await rawRequest(server.url, "/healthz");
      expect(health.status).to.equal(200);
      expect(JSON.parse(health.body.toString())).to.deep.equal({ status: "ok" });
      expect((await rawRequest(server.url, "/")).status).to.equal(404);
      expect((await rawRequest(server.url, "/etc/passwd")).status).to.equal(404);
      expect((await rawRequest(server.url, "/artifacts")).status).to.equal(404);
    });
  });

  describe("when given a bad port", function () {
    it("throws InvalidStoreOptionError", async function () {
      expect(await rejectionOf(startStoreServer({ store, port: 70000 }))).to.be.instanceOf(InvalidStoreOptionError);
    });
  });
});

describe("serveStoreCommand", function () {
  it("creates the directory, serves it, and closes", async function () {
    const { dir, cleanup } = await makeTempDir();
    try {
      const handle = await serveStoreCommand({ dir: join(dir, "new", "store"), port: "0", host: "127.0.0.1" });
      try {
        const hash = await handle.store.put(Buffer.from("served by the command"));
        const res = await rawRequest(handle.url, `/artifacts/${hash}`);
        expect(res.status).to.equal(200);
        expect(res.body.toString()).to.equal("served by the command");
      } finally {
        await handle.close();
      }
      expect(await rejectionOf(rawRequest(handle.url, "/healthz"))).to.have.property("code", "ECONNREFUSED");
    } finally {
      await cleanup();
    }
  });

  it("rejects a bad port or directory with InvalidStoreOptionError", async function () {
    for (const port of ["abc", "-1", "65536", "80.5", 1.5]) {
      expect(await rejectionOf(serveStoreCommand({ dir: "/tmp/unused", port })), String(port)).to.be.instanceOf(InvalidStoreOptionError);
    }
    expect(await rejectionOf(serveStoreCommand({ dir: "" }))).to.be.instanceOf(InvalidStoreOptionError);
  });
});
