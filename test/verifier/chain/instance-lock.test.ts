import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { acquireInstanceLock, InstanceLockedError } from "../../../verifier/chain/instance-lock";
import { captureLogger, tempDir } from "./helpers";

/** The PID of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  const pid = Number(child.stdout);
  expect(pid).to.be.greaterThan(0);
  return pid;
}

/** Writes a lock file owned by `pid` and expects it taken over as stale: ours afterwards, with a warning. */
function expectStaleLockTakenOver(pid: number): void {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, "upow.lock"), `${pid}\n`);
  const { logger, text } = captureLogger();
  const lock = acquireInstanceLock({ dataDir: dir, logger });
  expect(fs.readFileSync(lock.path, "utf8").trim()).to.equal(String(process.pid));
  expect(text()).to.contain("stale");
  lock.release();
}

describe("chain/instance-lock", function () {
  it("creates the lock with our PID, refuses a second holder, releases", function () {
    const dir = path.join(tempDir(), "data");
    const lock = acquireInstanceLock({ dataDir: dir });
    expect(fs.readFileSync(lock.path, "utf8").trim()).to.equal(String(process.pid));
    expect(() => acquireInstanceLock({ dataDir: dir })).to.throw(InstanceLockedError);
    lock.release();
    lock.release(); // idempotent
    expect(fs.existsSync(lock.path)).to.equal(false);
    acquireInstanceLock({ dataDir: dir }).release();
  });

  it("refuses a lock held by another live process", function () {
    const dir = tempDir();
    // PID 1 is always alive (init); EPERM counts as alive.
    fs.writeFileSync(path.join(dir, "upow.lock"), "1\n");
    let caught: unknown;
    try {
      acquireInstanceLock({ dataDir: dir });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(InstanceLockedError);
    expect((caught as InstanceLockedError).ownerPid).to.equal(1);
  });

  it("takes over a stale lock whose PID is dead", function () {
    expectStaleLockTakenOver(deadPid());
  });

  it("takes over a lock whose PID is a zombie (SIGKILLed, never reaped where PID 1 does not reap orphans)", async function () {
    if (process.platform !== "linux") this.skip();
    // The child outlives the shell, which has exec'd into `sleep` by then and never waits for it: a zombie that signal 0 still reaches.
    const parent = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const pid = await new Promise<number>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(Number(d.toString()))));
      const state = () => {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat[stat.lastIndexOf(")") + 2];
      };
      for (let i = 0; i < 200 && state() !== "Z"; i++) await new Promise((r) => setTimeout(r, 10));
      expect(state(), "the child became a zombie").to.equal("Z");
      expect(() => process.kill(pid, 0), "signal 0 reaches the zombie").to.not.throw();
      expectStaleLockTakenOver(pid);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("takes over a garbled lock file", function () {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "upow.lock"), "not a pid");
    acquireInstanceLock({ dataDir: dir }).release();
  });

  it("release leaves a lock that is no longer ours alone", function () {
    const dir = tempDir();
    const lock = acquireInstanceLock({ dataDir: dir });
    fs.writeFileSync(lock.path, "1\n");
    lock.release();
    expect(fs.readFileSync(lock.path, "utf8")).to.equal("1\n");
  });
});
