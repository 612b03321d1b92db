/**
 * Local secrets stay the operator's (protocol v3 V8.5): data directories are 0700, the journal
 * (vote and challenge salts in plain text) and key files 0600. Creation uses these modes; what an
 * older version or a careless copy left more open is tightened at startup, with a log line.
 */
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { UPowError } from "../errors";

export const PRIVATE_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;

/** A data directory or secret file could not be created or tightened. */
class PrivateFileError extends UPowError {
  override readonly name = "PrivateFileError";
}

/** Creates `dir` (and missing parents) 0700; tightens an existing one that group or others can use. */
export function ensurePrivateDir(dir: string, logger?: Logger): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (cause) {
    throw new PrivateFileError("cannot create the data directory", { cause, details: { dir } });
  }
  tighten(dir, PRIVATE_DIR_MODE, logger);
}

/** Tightens an existing file to 0600 when group or others can read it; a missing file is left alone. */
export function ensurePrivateFile(file: string, logger?: Logger): void {
  if (fs.existsSync(file)) tighten(file, PRIVATE_FILE_MODE, logger);
}

/** Creates `file` empty with mode 0600 when missing, so whatever opens it next keeps that mode. */
export function createPrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY, PRIVATE_FILE_MODE));
  } catch (cause) {
    throw new PrivateFileError("cannot create a private file", { cause, details: { file } });
  }
}

function tighten(target: string, mode: number, logger?: Logger): void {
  let current: number;
  try {
    current = fs.statSync(target).mode & 0o777;
  } catch (cause) {
    throw new PrivateFileError("cannot read permissions", { cause, details: { path: path.resolve(target) } });
  }
  if ((current & 0o077) === 0) return;
  try {
    fs.chmodSync(target, mode);
  } catch (cause) {
    throw new PrivateFileError("cannot tighten permissions (not the owner?)", {
      cause,
      details: { path: path.resolve(target), mode: current.toString(8) },
    });
  }
  logger?.warn({ path: path.resolve(target), was: current.toString(8), now: mode.toString(8) }, "tightened permissions of a private path");
}
