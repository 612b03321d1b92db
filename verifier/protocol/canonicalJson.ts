/**
 * RFC 8785 (JCS) canonical JSON, the same output as the `canonicalize` package. That package is
 * ESM-only and this code base compiles to CommonJS on Node 20 (no `require` of ESM), so the few
 * lines are kept here. Object keys sort by UTF-16 code units; strings and numbers are serialised
 * as ECMAScript's JSON.stringify does, which is what JCS prescribes.
 */
import { UPowError } from "../errors";

/** A value that has no canonical JSON form (NaN, Infinity, bigint, undefined, lone surrogate, cycle). */
export class CanonicalJsonError extends UPowError {
  override readonly name = "CanonicalJsonError";
}

export function canonicalJson(value: unknown): string {
  return encode(value, new Set(), "$");
}

/** Canonical JSON as UTF-8 bytes (what gets hashed and stored). */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

function encode(v: unknown, seen: Set<object>, path: string): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isFinite(v)) throw new CanonicalJsonError("non-finite number has no JSON form", { details: { path } });
      return JSON.stringify(v);
    case "string":
      if (hasLoneSurrogate(v)) throw new CanonicalJsonError("string holds a lone surrogate", { details: { path } });
      return JSON.stringify(v);
    case "object":
      break;
    default:
      throw new CanonicalJsonError(`${typeof v} has no JSON form`, { details: { path } });
  }
  const o = v as object;
  if (seen.has(o)) throw new CanonicalJsonError("circular reference", { details: { path } });
  seen.add(o);
  let out: string;
  if (Array.isArray(o)) {
    out = `[${o.map((x: unknown, i) => encode(x, seen, `${path}[${i}]`)).join(",")}]`;
  } else {
    const entries = Object.entries(o as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    out = `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${encode(x, seen, `${path}.${k}`)}`).join(",")}}`;
  }
  seen.delete(o);
  return out;
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (!(n >= 0xdc00 && n <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}
