/**
 * What `upow store push` runs: uploads every artifact of a local store directory to an S3 bucket
 * (re-hashed on the way, so a file damaged on disk is refused, not published), e.g. a requester's
 * packed job before its manifest names the bucket. Imports the AWS SDK: load it only for this.
 */
import { stat } from "node:fs/promises";
import { InvalidStoreOptionError } from "./errors";
import { LocalStore } from "./localStore";
import { silentLogger, type Logger } from "./logger";
import { mirrorToRemote } from "./remoteStore";
import { S3ArtifactStore, type S3StoreOptions } from "./s3Store";

export interface PushStoreCommandOptions {
  /** Store directory; must exist. */
  readonly dir: string;
  readonly s3: S3StoreOptions;
  /** @default silent */
  readonly logger?: Logger;
}

export interface PushStoreCommandResult {
  /** Artifact base URL of the bucket: `<publicBaseUrl>/artifacts/<sha256>`. */
  readonly publicBaseUrl: string;
  readonly location: string;
  /** Artifacts in the directory. */
  readonly artifacts: number;
  /** Of those, uploaded now (the rest were in the bucket already). */
  readonly uploaded: number;
}

// Loaded with import() by cli/commands/store.ts, which the export check does not follow (the AWS SDK loads only for `upow store push`).
// ts-unused-exports:disable-next-line
export async function pushStoreCommand(opts: PushStoreCommandOptions): Promise<PushStoreCommandResult> {
  if (typeof opts.dir !== "string" || opts.dir.length === 0)
    throw new InvalidStoreOptionError("dir", opts.dir, "must be a non-empty directory path");
  const isDir = await stat(opts.dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new InvalidStoreOptionError("dir", opts.dir, "is not an existing directory");
  const store = new LocalStore(opts.dir);
  const remote = new S3ArtifactStore({ ...opts.s3, logger: opts.logger ?? silentLogger() });
  try {
    const hashes = await store.list();
    const uploaded = await mirrorToRemote(store, remote, hashes);
    return { publicBaseUrl: remote.publicBaseUrl, location: remote.location, artifacts: hashes.length, uploaded };
  } finally {
    remote.close();
  }
}
