/** Temporary checkpoint directories for suites that train with the real trainer. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export function tempDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `upow-bench-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
