/**
 * Typed errors of the artifact store and its fetching client. Each names what was wrong; the
 * fetch loop decides retry / next mirror / give up with `instanceof` (see retry.ts).
 */
import { UPowError } from "../errors";

/** A value that should be a 64-char lowercase hex sha256 is not. */
export class InvalidArtifactHashError extends UPowError {
  override readonly name = "InvalidArtifactHashError";
  constructor(readonly value: unknown) {
    super("Artifact hash must be 64 lowercase hex characters (plain sha256)", {
      details: { value: typeof value === "string" ? value.slice(0, 100) : typeof value },
    });
  }
}

/** A store, server or fetch option is out of range. */
export class InvalidStoreOptionError extends UPowError {
  override readonly name = "InvalidStoreOptionError";
  constructor(
    readonly option: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`Invalid store option '${option}': ${reason}`, { details: { option, value: String(value) } });
  }
}

/** The artifact is not in the local store, on the mirror (HTTP 404/410), or at the file:// path. */
export class ArtifactNotFoundError extends UPowError {
  override readonly name = "ArtifactNotFoundError";
  constructor(
    readonly hash: string,
    readonly location: string,
    options: { cause?: unknown } = {},
  ) {
    super("Artifact not found", { cause: options.cause, details: { hash, location } });
  }
}

/** The bytes received hash to something other than the requested address. */
export class ArtifactHashMismatchError extends UPowError {
  override readonly name = "ArtifactHashMismatchError";
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly source: string,
  ) {
    super("Artifact bytes do not match the requested sha256", { details: { expected, actual, source } });
  }
}

/** The artifact is, or is declared to be, larger than the caller's limit. */
export class ArtifactTooLargeError extends UPowError {
  override readonly name = "ArtifactTooLargeError";
  constructor(
    readonly maxBytes: number,
    /** The declared size (Content-Length / file size) or the byte count reached when the limit broke. */
    readonly bytes: number,
    readonly source: string,
    readonly declared: boolean,
  ) {
    super(declared ? "Artifact declares a size above the limit" : "Artifact body exceeded the size limit", {
      details: { maxBytes, bytes, declared, source },
    });
  }
}

/** No byte arrived for `idle` ms, or the whole transfer took longer than the `overall` limit. */
export class ArtifactTimeoutError extends UPowError {
  override readonly name = "ArtifactTimeoutError";
  constructor(
    readonly kind: "idle" | "overall",
    readonly timeoutMs: number,
    readonly bytesReceived: number,
    readonly source: string,
  ) {
    super(`Artifact transfer timed out (${kind})`, { details: { kind, timeoutMs, bytesReceived, source } });
  }
}

/** The body ended (or the connection dropped) before all bytes arrived. */
export class ArtifactTruncatedError extends UPowError {
  override readonly name = "ArtifactTruncatedError";
  constructor(
    readonly bytesReceived: number,
    readonly expectedBytes: number | undefined,
    readonly source: string,
    options: { cause?: unknown } = {},
  ) {
    super("Artifact body ended early", { cause: options.cause, details: { bytesReceived, expectedBytes, source } });
  }
}

/** A mirror URI whose scheme the client does not speak (only http:, https:, file:). */
export class UnsupportedUriError extends UPowError {
  override readonly name = "UnsupportedUriError";
  constructor(
    readonly uri: string,
    reason: string,
  ) {
    super(`Unsupported artifact URI: ${reason}`, { details: { uri: uri.slice(0, 200) } });
  }
}

/** Which artifact URL rule (protocol v3 V8.4) a refused URL broke. */
export type ArtifactUrlRule = "malformed" | "scheme" | "userinfo" | "query" | "fragment" | "too-many-bases" | "address";

/**
 * A URL named by a job or result index that the operator's URL policy refuses (V8.4); permanent:
 * the URL is never tried, so a job whose only sources are refused counts as not served.
 */
export class ArtifactUrlRefusedError extends UPowError {
  override readonly name = "ArtifactUrlRefusedError";
  constructor(
    readonly uri: string,
    readonly rule: ArtifactUrlRule,
    reason: string,
  ) {
    super(`Artifact URL refused (${rule}): ${reason}`, { details: { uri: uri.slice(0, 200), rule } });
  }
}

/** The mirror answered with an HTTP status other than 200 / 404 / 410. */
export class ArtifactHttpError extends UPowError {
  override readonly name = "ArtifactHttpError";
  constructor(
    readonly status: number,
    readonly source: string,
  ) {
    super(`Artifact mirror answered HTTP ${status}`, { details: { status, source } });
  }
}

/** The mirror could not be reached or the connection failed before a response (refused, reset, DNS, ...). */
export class ArtifactNetworkError extends UPowError {
  override readonly name = "ArtifactNetworkError";
  constructor(
    readonly source: string,
    cause: unknown,
  ) {
    super("Artifact mirror unreachable", {
      cause,
      details: { source, reason: cause instanceof Error ? cause.message : String(cause) },
    });
  }
}

/** One failed try of one mirror, as recorded by fetchArtifact. */
export interface FetchAttemptFailure {
  readonly uri: string;
  /** 0 for the first try of this mirror, 1 for the first retry, ... */
  readonly attempt: number;
  readonly error: UPowError;
}

/** Every mirror failed (after retries); `attempts` lists each try and its cause, in order. */
export class ArtifactFetchFailedError extends UPowError {
  override readonly name = "ArtifactFetchFailedError";
  constructor(
    readonly hash: string,
    readonly attempts: readonly FetchAttemptFailure[],
  ) {
    super(`All ${new Set(attempts.map((a) => a.uri)).size} artifact mirror(s) failed`, {
      cause: attempts.length > 0 ? attempts[attempts.length - 1].error : undefined,
      details: {
        hash,
        attempts: attempts.map((a) => ({
          uri: a.uri.slice(0, 200),
          attempt: a.attempt,
          error: a.error.name,
          reason: a.error.shortMessage,
        })),
      },
    });
  }

  /** The cause of every try, in order (e.g. to tell "missing everywhere" from "tampered"). */
  get errors(): readonly UPowError[] {
    return this.attempts.map((a) => a.error);
  }
}
