/** Real servers on 127.0.0.1 ephemeral ports and store-directory checks for the store tests. */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { expect } from "chai";
import type { LocalStore } from "../../../verifier/store";

export async function makeTempDir(prefix = "upow-store-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every regular file under `root`, as root-relative paths, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(relative(root, full));
    }
  }
  await walk(root);
  return out.sort();
}

/** The store holds exactly `hashes` under their final names and nothing else (no temp, no partial file). */
export async function expectStoreHolds(store: LocalStore, hashes: readonly string[]): Promise<void> {
  const expected = [...hashes].sort().map((h) => join(h.slice(0, 2), h.slice(2)));
  expect(await listFiles(store.root)).to.deep.equal(expected);
}

export interface TestServer {
  url: string;
  port: number;
  /** Paths requested, in order, with the time each arrived (ms since epoch). */
  requests: { path: string; at: number }[];
  close(): Promise<void>;
}

/** A plain node:http server whose behaviour each test writes itself (the hostile mirrors). */
export async function startTestServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const requests: { path: string; at: number }[] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? "", at: Date.now() });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on which nothing listens (a port that was just free). */
export async function deadUrl(): Promise<string> {
  const server = await startTestServer(() => undefined);
  await server.close();
  return server.url;
}

export interface RawResponse {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

/** Sends `path` byte for byte (no URL normalisation, unlike fetch()). */
export function rawRequest(baseUrl: string, path: string, method = "GET", headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Awaits a promise that must reject and returns the rejection for further checks. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  expect.fail("expected the promise to reject");
}
