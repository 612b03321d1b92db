/**
 * A local S3-compatible server for the artifact-store tests: s3rver on a free 127.0.0.1 port, data
 * in a temp dir, one bucket. s3rver answers unsigned GETs like a bucket with anonymous read, so
 * `<endpoint>/<bucket>/<key>` is what readers of a public bucket see.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { S3Credentials } from "../../verifier/store/s3Store";

/** The slice of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string; configs: string[] }[];
}) => S3rverInstance;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as S3rverConstructor;

/** s3rver's fixed test credentials. */
export const S3RVER_CREDENTIALS: S3Credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface LocalS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  close(): Promise<void>;
}

/** `port` 0: a free one. */
export async function startLocalS3(bucket = "upow-artifacts", port = 0): Promise<LocalS3> {
  const directory = await mkdtemp(path.join(tmpdir(), "upow-s3rver-"));
  const server = new S3rver({ port, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
