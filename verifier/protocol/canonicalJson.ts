/**
 * RFC 8785 (JCS) canonical JSON through the `canonicalize` package, the one implementation every
 * hashed JSON document (manifests, result indexes, dataset lists, CLI job files) goes through.
 * The package is ESM-only with no `require` entry; Node ≥ 20.19 can `require` its ESM file, so it is
 * located on the module path instead of resolved by name.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { UPowError } from "./errors";

/** A value that has no canonical JSON form (NaN, Infinity, bigint, undefined, lone surrogate, cycle). */
class CanonicalJsonError extends UPowError {
  override readonly name = "CanonicalJsonError";
}

type Canonicalize = (value: unknown) => string | undefined;
let canonicalizeFn: Canonicalize | undefined;

function loadCanonicalize(): Canonicalize {
  if (canonicalizeFn) return canonicalizeFn;
  const candidates = (require.resolve.paths("canonicalize") ?? []).map((d) => path.join(d, "canonicalize", "lib", "canonicalize.js"));
  const file = candidates.find((p) => existsSync(p));
  if (file === undefined) throw new UPowError("the canonicalize package is not installed");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { default?: Canonicalize };
  if (typeof mod.default !== "function") throw new UPowError("the canonicalize package has no default export", { details: { file } });
  canonicalizeFn = mod.default;
  return canonicalizeFn;
}

/** RFC 8785 canonical JSON of a JSON value; throws CanonicalJsonError for anything JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  let s: string | undefined;
  try {
    s = loadCanonicalize()(value);
  } catch (cause) {
    throw new CanonicalJsonError(`value has no canonical JSON form: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (s === undefined) throw new CanonicalJsonError(`${typeof value} has no JSON form`);
  return s;
}

/** Canonical JSON as UTF-8 bytes (what gets hashed and stored). */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}
