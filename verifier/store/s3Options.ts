/**
 * The options of an S3 artifact store, checked and defaulted without loading the AWS SDK (the
 * worker's config validation runs before its key is unlocked, in every CLI start): bucket and
 * prefix names, endpoint, the public base URL readers get, multipart and retry settings.
 */
import { InvalidStoreOptionError } from "./errors";
import { assertArtifactHash } from "./hash";
import type { Logger } from "./logger";
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

/** Options after checks and defaults (credentials and logger are passed through unchanged). */
export interface ResolvedS3Options {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly forcePathStyle: boolean;
  /** No trailing slash. */
  readonly publicBaseUrl: string;
  /** `s3://<bucket>[/<prefix>]` */
  readonly location: string;
  readonly multipartThresholdBytes: number;
  readonly partBytes: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/** Checks and defaults the options; InvalidStoreOptionError names the first bad one. */
export function resolveS3Options(o: S3StoreOptions, env: NodeJS.ProcessEnv = process.env): ResolvedS3Options {
  if (typeof o.bucket !== "string" || !BUCKET_PATTERN.test(o.bucket))
    throw new InvalidStoreOptionError("bucket", o.bucket, "must be an S3 bucket name (3-63 of a-z 0-9 . -)");
  const prefix = o.prefix ?? "";
  if (prefix !== "" && !prefix.split("/").every((s) => PREFIX_SEGMENT.test(s) && s !== "." && s !== "..")) {
    throw new InvalidStoreOptionError(
      "prefix",
      prefix,
      "must be segments of A-Za-z0-9._- joined by '/', without leading/trailing slash or '.'/'..'",
    );
  }
  const region = o.region ?? env.AWS_REGION ?? "us-east-1";
  let endpoint: string | undefined;
  if (o.endpoint !== undefined) {
    endpoint = o.endpoint.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/?#@]+$/.test(endpoint)) throw new InvalidStoreOptionError("endpoint", o.endpoint, "must be http(s)://host[:port]");
  }
  const slashPrefix = prefix === "" ? "" : `/${prefix}`;
  const base = (
    o.publicBaseUrl ??
    (endpoint !== undefined ? `${endpoint}/${o.bucket}${slashPrefix}` : `https://${o.bucket}.s3.${region}.amazonaws.com${slashPrefix}`)
  ).replace(/\/+$/, "");
  try {
    checkArtifactUrl(base, { allowPrivate: true }); // the readers' rules (V8.4); which addresses they accept is theirs to say
  } catch (cause) {
    throw new InvalidStoreOptionError(
      "publicBaseUrl",
      base,
      `must be an http(s) URL without userinfo, query or fragment (${cause instanceof UPowError ? cause.shortMessage : String(cause)})`,
    );
  }
  return {
    bucket: o.bucket,
    prefix,
    endpoint,
    region,
    forcePathStyle: o.forcePathStyle ?? endpoint !== undefined,
    publicBaseUrl: base,
    location: `s3://${o.bucket}${slashPrefix}`,
    multipartThresholdBytes: count("multipartThresholdBytes", o.multipartThresholdBytes ?? 64 << 20, 0),
    partBytes: count("partBytes", o.partBytes ?? 16 << 20, MIN_PART_BYTES),
    retries: count("retries", o.retries ?? 3, 0),
    backoffMs: count("backoffMs", o.backoffMs ?? 200, 0),
    maxBackoffMs: count("maxBackoffMs", o.maxBackoffMs ?? 5_000, 0),
  };
}

/** Object key of an address: `<prefix>/artifacts/<sha256>` (no prefix: `artifacts/<sha256>`). */
export function s3Key(prefix: string, hash: string): string {
  assertArtifactHash(hash);
  return `${prefix === "" ? "" : `${prefix}/`}artifacts/${hash}`;
}

function count(option: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidStoreOptionError(option, value, `must be an integer >= ${min}`);
  return value;
}
