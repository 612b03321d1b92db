/**
 * RemoteArtifactStore on an S3-compatible bucket (AWS S3, MinIO, R2, ...), see remoteStore.ts for
 * the design. Object key of sha256 `h`: `<prefix>/artifacts/<h>` (no prefix: `artifacts/<h>`), so
 * with anonymous read on the prefix the bucket's HTTP URL `<endpoint>/<bucket>/<prefix>` (or a
 * CDN in front) is an artifact base URL. A put HEADs first and skips an object already there with
 * the same length (idempotent, cheap on restarts); up to `multipartThresholdBytes` it is one
 * PutObject, above it a multipart upload (the SDK's lib-storage is not a dependency). Every call
 * is retried on transient failures (network, 5xx, 408, 429) with the store's backoff; the SDK's own
 * retries are off so the two do not multiply.
 */
import { createHash } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand,
  S3Client, S3ServiceException, UploadPartCommand, type CompletedPart,
} from "@aws-sdk/client-s3";
import { setTimeout as sleep } from "node:timers/promises";
import { ArtifactHashMismatchError, InvalidStoreOptionError } from "./errors";
import { assertArtifactHash, sha256Hex } from "./hash";
import { silentLogger, type Logger } from "./logger";
import type { RemoteArtifactStore, RemotePutOptions, RemotePutSource } from "./remoteStore";
import { backoffDelay } from "./retry";
import { checkArtifactUrl } from "./urlPolicy";
import { UPowError } from "../errors";

/** S3's smallest part but the last (5 MiB). */
const MIN_PART_BYTES = 5 << 20;
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix, `a/b` (no leading or trailing slash, no `.`/`..` segment). @default none */
  readonly prefix?: string;
  /** S3 API endpoint (MinIO, R2, a test server). @default AWS S3 of `region` */
  readonly endpoint?: string;
  /** @default AWS_REGION, else us-east-1 */
  readonly region?: string;
  /** Bucket in the path, not the host name. @default true when `endpoint` is given (MinIO and most others need it) */
  readonly forcePathStyle?: boolean;
  /** @default the SDK's credential chain (AWS_ACCESS_KEY_ID…, ~/.aws, instance/task roles) */
  readonly credentials?: S3Credentials;
  /**
   * Base URL where readers fetch `<base>/artifacts/<sha256>` anonymously (a CDN, R2's public URL).
   * @default `<endpoint>/<bucket>/<prefix>` with an endpoint, else `https://<bucket>.s3.<region>.amazonaws.com/<prefix>`
   */
  readonly publicBaseUrl?: string;
  /** Bytes above which the upload is multipart. @default 64 MiB */
  readonly multipartThresholdBytes?: number;
  /** Part size of a multipart upload, ≥ 5 MiB. @default 16 MiB */
  readonly partBytes?: number;
  /** Extra tries of a call that failed transiently. @default 3 */
  readonly retries?: number;
  /** @default 200 */
  readonly backoffMs?: number;
  /** @default 5_000 */
  readonly maxBackoffMs?: number;
  /** @default silent */
  readonly logger?: Logger;
}

/** An S3 call failed for good (after retries when transient); names the bucket, key and call. */
export class S3StoreError extends UPowError {
  override readonly name = "S3StoreError";
  constructor(
    readonly operation: string,
    readonly bucket: string,
    readonly key: string,
    /** HTTP status of the answer; undefined when none arrived (network). */
    readonly status: number | undefined,
    cause: unknown,
  ) {
    super(`S3 ${operation} of s3://${bucket}/${key} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause, details: { operation, bucket, key, status },
    });
  }
}

/** Whether another try of an S3 call may succeed: no answer at all, 5xx, 408 or 429. */
export function isTransientS3Error(error: unknown): boolean {
  const status = httpStatus(error);
  return status === undefined || status >= 500 || status === 408 || status === 429;
}

function httpStatus(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

export class S3ArtifactStore implements RemoteArtifactStore {
  readonly publicBaseUrl: string;
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  readonly #threshold: number;
  readonly #partBytes: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #logger: Logger;

  constructor(o: S3StoreOptions) {
    if (typeof o.bucket !== "string" || !BUCKET_PATTERN.test(o.bucket)) throw new InvalidStoreOptionError("bucket", o.bucket, "must be an S3 bucket name (3-63 of a-z 0-9 . -)");
    const prefix = o.prefix ?? "";
    if (prefix !== "" && !prefix.split("/").every((s) => PREFIX_SEGMENT.test(s) && s !== "." && s !== "..")) {
      throw new InvalidStoreOptionError("prefix", prefix, "must be segments of A-Za-z0-9._- joined by '/', without leading/trailing slash or '.'/'..'");
    }
    const region = o.region ?? process.env.AWS_REGION ?? "us-east-1";
    let endpoint: string | undefined;
    if (o.endpoint !== undefined) {
      endpoint = o.endpoint.replace(/\/+$/, "");
      if (!/^https?:\/\/[^/?#]+$/.test(endpoint)) throw new InvalidStoreOptionError("endpoint", o.endpoint, "must be http(s)://host[:port]");
    }
    this.#threshold = count("multipartThresholdBytes", o.multipartThresholdBytes ?? 64 << 20, 0);
    this.#partBytes = count("partBytes", o.partBytes ?? 16 << 20, MIN_PART_BYTES);
    this.#retries = count("retries", o.retries ?? 3, 0);
    this.#backoffMs = count("backoffMs", o.backoffMs ?? 200, 0);
    this.#maxBackoffMs = count("maxBackoffMs", o.maxBackoffMs ?? 5_000, 0);
    const slashPrefix = prefix === "" ? "" : `/${prefix}`;
    const base = o.publicBaseUrl ?? (endpoint !== undefined ? `${endpoint}/${o.bucket}${slashPrefix}` : `https://${o.bucket}.s3.${region}.amazonaws.com${slashPrefix}`);
    try {
      checkArtifactUrl(base, { allowPrivate: true }); // the readers' rules (V8.4); addresses are theirs to judge
    } catch (cause) {
      throw new InvalidStoreOptionError("publicBaseUrl", base, `must be an http(s) URL without userinfo, query or fragment (${cause instanceof UPowError ? cause.shortMessage : String(cause)})`);
    }
    this.bucket = o.bucket;
    this.prefix = prefix;
    this.publicBaseUrl = base.replace(/\/+$/, "");
    this.location = `s3://${o.bucket}${slashPrefix}`;
    this.#logger = (o.logger ?? silentLogger()).child({ component: "s3-store", location: this.location });
    this.client = new S3Client({
      region,
      ...(endpoint !== undefined ? { endpoint } : {}),
      forcePathStyle: o.forcePathStyle ?? endpoint !== undefined,
      ...(o.credentials ? { credentials: { ...o.credentials } } : {}),
      maxAttempts: 1,
      // Checksums only where S3 demands them: several S3-compatible servers reject the newer
      // default trailers, and readers hash-check every object anyway.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  /** Object key of an address: `<prefix>/artifacts/<sha256>`. */
  key(hash: string): string {
    assertArtifactHash(hash);
    return `${this.prefix === "" ? "" : `${this.prefix}/`}artifacts/${hash}`;
  }

  async has(hash: string): Promise<boolean> {
    return (await this.#head(this.key(hash))) !== null;
  }

  async put(source: RemotePutSource, options: RemotePutOptions = {}): Promise<string> {
    if (options.expectedHash !== undefined) assertArtifactHash(options.expectedHash);
    const origin = source instanceof Uint8Array ? "bytes" : source.path;
    const size = source instanceof Uint8Array ? source.byteLength : (await stat(source.path)).size;
    if (size <= this.#threshold) {
      const bytes = source instanceof Uint8Array ? source : await readFile(source.path);
      const hash = checkHash(sha256Hex(bytes), options.expectedHash, origin);
      const key = this.key(hash);
      if ((await this.#head(key)) === size) return hash;
      await this.#call("PutObject", key, () => this.client.send(new PutObjectCommand({
        Bucket: this.bucket, Key: key, Body: bytes, ContentLength: size, ContentType: "application/octet-stream",
      })));
      this.#logger.debug({ key, size }, "artifact uploaded");
      return hash;
    }
    // Multipart: the key is the address, so it must be known before the first part: a file is
    // hashed in a first pass (bytes are hashed in memory), and each part is checked again on upload.
    const hash = checkHash(source instanceof Uint8Array ? sha256Hex(source) : await hashFile(source.path), options.expectedHash, origin);
    const key = this.key(hash);
    if ((await this.#head(key)) === size) return hash;
    await this.#multipart(key, hash, size, source, origin);
    this.#logger.debug({ key, size }, "artifact uploaded (multipart)");
    return hash;
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }

  async #multipart(key: string, hash: string, size: number, source: RemotePutSource, origin: string): Promise<void> {
    const created = await this.#call("CreateMultipartUpload", key, () => this.client.send(new CreateMultipartUploadCommand({
      Bucket: this.bucket, Key: key, ContentType: "application/octet-stream",
    })));
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new S3StoreError("CreateMultipartUpload", this.bucket, key, undefined, new Error("no UploadId in the answer"));
    const file = source instanceof Uint8Array ? null : await open(source.path, "r");
    try {
      const hasher = createHash("sha256");
      const parts: CompletedPart[] = [];
      for (let offset = 0, n = 1; offset < size; offset += this.#partBytes, n++) {
        const length = Math.min(this.#partBytes, size - offset);
        const body = file ? await readPart(file, offset, length) : (source as Uint8Array).subarray(offset, offset + length);
        hasher.update(body);
        const part = await this.#call("UploadPart", key, () => this.client.send(new UploadPartCommand({
          Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: body.byteLength,
        })));
        parts.push({ PartNumber: n, ETag: part.ETag });
      }
      // The file may have changed since the first pass: never complete an object under a wrong name.
      checkHash(hasher.digest("hex"), hash, origin);
      await this.#call("CompleteMultipartUpload", key, () => this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts },
      })));
    } catch (error) {
      // Best effort: an upload left open only costs storage until the bucket's lifecycle rule drops it.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch((abortError: unknown) => {
        this.#logger.warn({ key, err: abortError instanceof Error ? abortError.message : String(abortError) }, "could not abort a failed multipart upload");
      });
      throw error;
    } finally {
      await file?.close();
    }
  }

  /** Stored length, or null when there is no such object. */
  async #head(key: string): Promise<number | null> {
    try {
      const r = await this.#call("HeadObject", key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return r.ContentLength ?? 0;
    } catch (error) {
      if (error instanceof S3StoreError && error.status === 404) return null;
      throw error;
    }
  }

  async #call<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        const status = httpStatus(error);
        if (status === 404 || attempt >= this.#retries || !isTransientS3Error(error)) {
          throw new S3StoreError(operation, this.bucket, key, status, error);
        }
        const delay = backoffDelay(attempt, this.#backoffMs, this.#maxBackoffMs);
        this.#logger.warn({ operation, key, attempt, status, delay, err: error instanceof Error ? error.message : String(error) }, "S3 call failed; retrying");
        await sleep(delay);
      }
    }
  }
}

function checkHash(actual: string, expected: string | undefined, origin: string): string {
  if (expected !== undefined && actual !== expected) throw new ArtifactHashMismatchError(expected, actual, origin);
  return actual;
}

async function hashFile(path: string): Promise<string> {
  const hasher = createHash("sha256");
  const file = await open(path, "r");
  try {
    for await (const chunk of file.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) hasher.update(chunk as Buffer);
  } finally {
    await file.close();
  }
  return hasher.digest("hex");
}

/** Up to `length` bytes at `position`; fewer when the file shrank (the final hash check catches it). */
async function readPart(file: Awaited<ReturnType<typeof open>>, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

function count(option: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidStoreOptionError(option, value, `must be an integer >= ${min}`);
  return value;
}
