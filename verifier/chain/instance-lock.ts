import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { UPowError } from "../errors";
import { ensurePrivateDir } from "./privateFiles";

/**
 * One daemon per data dir: a lock file created with O_EXCL holding the owner's PID. A lock whose
 * PID is dead is stale and taken over (two daemons sharing a journal would reuse nonces).
 */

export interface InstanceLock {
  readonly path: string;
  readonly pid: number;
  /** Remove the lock file if it is still ours; idempotent. */
  release(): void;
}

export interface AcquireInstanceLockParameters {
  dataDir: string;
  /** @default "upow.lock" */
  fileName?: string;
  logger?: Logger;
}

class InstanceLockError extends UPowError {
  override readonly name: string = "InstanceLockError";
}

/** Another live process holds the lock. */
export class InstanceLockedError extends InstanceLockError {
  override readonly name: string = "InstanceLockedError";
  readonly ownerPid: number;
  constructor(ownerPid: number, lockPath: string) {
    super("data dir is locked by another running instance", { details: { ownerPid, lockPath } });
    this.ownerPid = ownerPid;
  }
}

export function acquireInstanceLock(params: AcquireInstanceLockParameters): InstanceLock {
  // The first thing a daemon does with its data dir: create it 0700, or tighten it (V8.5).
  ensurePrivateDir(params.dataDir, params.logger);
  const lockPath = path.join(params.dataDir, params.fileName ?? "upow.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockPath, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      params.logger?.info({ lockPath, pid: process.pid }, "instance lock acquired");
      return makeLock(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new InstanceLockError("cannot create lock file", { cause: err, details: { lockPath } });
      }
    }
    const owner = readOwner(lockPath);
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw new InstanceLockedError(owner, lockPath);
    if (owner === process.pid) throw new InstanceLockedError(owner, lockPath); // held by this process already
    params.logger?.warn({ lockPath, stalePid: owner ?? null }, "removing stale instance lock");
    try {
      fs.unlinkSync(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new InstanceLockError("cannot remove stale lock file", { cause: err, details: { lockPath } });
      }
    }
  }
  throw new InstanceLockError("lost the race for the lock file", { details: { lockPath } });
}

function makeLock(lockPath: string): InstanceLock {
  let released = false;
  return {
    path: lockPath,
    pid: process.pid,
    release() {
      if (released) return;
      released = true;
      if (readOwner(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
    },
  };
}

/** The PID in the lock file; undefined when the file is gone, empty or garbled (treated as stale). */
function readOwner(lockPath: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !isZombie(pid);
}

/**
 * A SIGKILLed daemon whose parent died with it stays a zombie wherever PID 1 does not reap orphans
 * (containers whose init is the app or a plain shell): signal 0 still reaches it, yet it holds nothing.
 * Linux only; elsewhere (no /proc) a PID that answers counts as alive.
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
  return stat[stat.lastIndexOf(")") + 2] === "Z";
}
