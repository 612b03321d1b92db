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
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { setTimeout as sleep } from "node:timers/promises";
import { ArtifactHashMismatchError } from "./errors";
import { assertArtifactHash, sha256Hex } from "./hash";
import { silentLogger, type Logger } from "./logger";
import type { RemoteArtifactStore, RemotePutOptions, RemotePutSource } from "./remoteStore";
import { backoffDelay } from "./retry";
import { resolveS3Options, s3Key, type S3StoreOptions } from "./s3Options";
import { UPowError } from "../errors";

export type { S3Credentials, S3StoreOptions } from "./s3Options";

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
      cause,
      details: { operation, bucket, key, status },
    });
  }
}

/** Whether another try of an S3 call may succeed: no answer at all, 5xx, 408 or 429. */
function isTransientS3Error(error: unknown): boolean {
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

  constructor(options: S3StoreOptions) {
    const o = resolveS3Options(options);
    this.bucket = o.bucket;
    this.prefix = o.prefix;
    this.publicBaseUrl = o.publicBaseUrl;
    this.location = o.location;
    this.#threshold = o.multipartThresholdBytes;
    this.#partBytes = o.partBytes;
    this.#retries = o.retries;
    this.#backoffMs = o.backoffMs;
    this.#maxBackoffMs = o.maxBackoffMs;
    this.#logger = (options.logger ?? silentLogger()).child({ component: "s3-store", location: this.location });
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle,
      ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
      maxAttempts: 1,
      // Checksums only where S3 demands them: several S3-compatible servers reject the newer
      // default trailers, and readers hash-check every object anyway.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  /** Object key of an address: `<prefix>/artifacts/<sha256>`. */
  key(hash: string): string {
    return s3Key(this.prefix, hash);
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
      if ((await this.#head(key)) === bytes.byteLength) return hash;
      await this.#call("PutObject", key, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: bytes,
            ContentLength: bytes.byteLength,
            ContentType: "application/octet-stream",
          }),
        ),
      );
      this.#logger.debug({ key, size: bytes.byteLength }, "artifact uploaded");
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
    const created = await this.#call("CreateMultipartUpload", key, () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: "application/octet-stream",
        }),
      ),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined)
      throw new S3StoreError("CreateMultipartUpload", this.bucket, key, undefined, new Error("no UploadId in the answer"));
    const file = source instanceof Uint8Array ? null : await open(source.path, "r");
    try {
      const hasher = createHash("sha256");
      const parts: CompletedPart[] = [];
      for (let offset = 0, n = 1; offset < size; offset += this.#partBytes, n++) {
        const length = Math.min(this.#partBytes, size - offset);
        const body = file ? await readPart(file, offset, length) : (source as Uint8Array).subarray(offset, offset + length);
        hasher.update(body);
        const part = await this.#call("UploadPart", key, () =>
          this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: n,
              Body: body,
              ContentLength: body.byteLength,
            }),
          ),
        );
        parts.push({ PartNumber: n, ETag: part.ETag });
      }
      // The file may have changed since the first pass: never complete an object under a wrong name.
      checkHash(hasher.digest("hex"), hash, origin);
      await this.#call("CompleteMultipartUpload", key, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    } catch (error) {
      // Best effort: an upload left open only costs storage until the bucket's lifecycle rule drops it.
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
        .catch((abortError: unknown) => {
          this.#logger.warn(
            { key, err: abortError instanceof Error ? abortError.message : String(abortError) },
            "could not abort a failed multipart upload",
          );
        });
      throw error;
    } finally {
      await file?.close();
    }
  }

  /**
   * Stored length, or null when the object is not known to exist: 404, or 403, which S3 answers
   * for a missing key when the credentials lack s3:ListBucket (a put then finds out for real).
   */
  async #head(key: string): Promise<number | null> {
    try {
      const r = await this.#call("HeadObject", key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return r.ContentLength ?? 0;
    } catch (error) {
      if (error instanceof S3StoreError && (error.status === 404 || error.status === 403)) return null;
      throw error;
    }
  }

  async #call<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        const status = httpStatus(error);
        if (attempt >= this.#retries || !isTransientS3Error(error)) {
          throw new S3StoreError(operation, this.bucket, key, status, error);
        }
        const delay = backoffDelay(attempt, this.#backoffMs, this.#maxBackoffMs);
        this.#logger.warn(
          { operation, key, attempt, status, delay, err: error instanceof Error ? error.message : String(error) },
          "S3 call failed; retrying",
        );
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
