import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";

const UPOW = path.join(__dirname, "..", "..", "..", "bin", "upow.js");

describe("upow store serve (CLI)", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "upow-store-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves a stored artifact, answers 404 for an unknown hash, and stops on SIGINT", async function () {
    const body = Buffer.from("checkpoint bytes");
    const hash = createHash("sha256").update(body).digest("hex");
    await mkdir(path.join(dir, hash.slice(0, 2)), { recursive: true });
    await writeFile(path.join(dir, hash.slice(0, 2), hash.slice(2)), body);

    const child = spawn(process.execPath, [UPOW, "--json", "store", "serve", "--dir", dir, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /"url":\s*"(http:\/\/[^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`upow store serve exited early with ${code}`)));
    });
    try {
      const ok = await fetch(`${url}/artifacts/${hash}`);
      expect(ok.status).to.equal(200);
      expect(Buffer.from(await ok.arrayBuffer()).equals(body)).to.equal(true);
      const missing = await fetch(`${url}/artifacts/${"0".repeat(64)}`);
      expect(missing.status).to.equal(404);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).to.equal(0);
  });
});
