/**
 * How job artifacts are named by URI so anyone can fetch them from a content-addressed store
 * (verifier/store): an artifact URI is `<base>/artifacts/<sha256 of the bytes>`, so the address to
 * verify the bytes against is part of the URI. The manifest's `data.uri` names a *dataset list*
 * artifact: canonical JSON mapping every batch index to its batch hash (fileHash, what the data
 * tree commits to) and its store address (plain sha256 of the batch file).
 */
import { UPowError } from "./errors";
import { dataTree, type Hash } from "./hashing";
import { canonicalJsonBytes } from "./canonicalJson";

const ARTIFACT_URI = /^(https?:\/\/[^\s?#]+?)\/artifacts\/([0-9a-f]{64})$/;
const HEX32 = /^0x[0-9a-f]{64}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const DATASET_LIST_VERSION = 1;
/** Sanity bound on a dataset list (the manifest's own bound on numBatches). */
const MAX_BATCHES = 1 << 24;

/** A URI that is not `<http(s) base>/artifacts/<64 hex>`, or a dataset list that does not hold together. */
class JobArtifactError extends UPowError {
  override readonly name = "JobArtifactError";
}

export interface ArtifactLocation {
  /** Base URL of the store server (no trailing slash). */
  readonly baseUrl: string;
  /** 64 lowercase hex. */
  readonly sha256: string;
}

export function artifactUri(baseUrl: string, sha256: string): string {
  if (!SHA256.test(sha256)) throw new JobArtifactError("artifact address must be 64 lowercase hex", { details: { sha256 } });
  return `${baseUrl.replace(/\/+$/, "")}/artifacts/${sha256}`;
}

export function parseArtifactUri(uri: string, what = "artifact uri"): ArtifactLocation {
  const m = typeof uri === "string" ? ARTIFACT_URI.exec(uri) : null;
  if (!m)
    throw new JobArtifactError(`${what} is not <http(s) base>/artifacts/<sha256>`, { details: { what, uri: String(uri).slice(0, 300) } });
  return { baseUrl: m[1]!, sha256: m[2]! };
}

export interface DatasetBatch {
  /** fileHash of the batch file (the data tree leaf's hash). */
  readonly batchHash: Hash;
  /** Store address of the batch file. */
  readonly sha256: string;
}

export interface DatasetList {
  readonly version: typeof DATASET_LIST_VERSION;
  readonly dataRoot: Hash;
  readonly batches: readonly DatasetBatch[];
}

export function buildDatasetList(batches: readonly DatasetBatch[]): DatasetList {
  return {
    version: DATASET_LIST_VERSION,
    dataRoot: dataTree(batches.map((b) => b.batchHash)).root,
    batches: batches.map((b) => ({ ...b })),
  };
}

export function encodeDatasetList(list: DatasetList): Buffer {
  return canonicalJsonBytes(list);
}

/** Parses a dataset list and checks it against the manifest's data root and batch count. */
export function parseDatasetList(bytes: Uint8Array, expect: { dataRoot: Hash; numBatches: number }): DatasetList {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (cause) {
    throw new JobArtifactError("dataset list is not JSON", { cause });
  }
  const o = v as Partial<DatasetList> | null;
  if (
    o === null ||
    typeof o !== "object" ||
    o.version !== DATASET_LIST_VERSION ||
    !Array.isArray(o.batches) ||
    o.batches.length > MAX_BATCHES
  ) {
    throw new JobArtifactError("dataset list is malformed");
  }
  const batches = o.batches.map((b: unknown, i) => {
    const x = b as Partial<DatasetBatch> | null;
    if (
      x === null ||
      typeof x !== "object" ||
      typeof x.batchHash !== "string" ||
      !HEX32.test(x.batchHash) ||
      typeof x.sha256 !== "string" ||
      !SHA256.test(x.sha256)
    ) {
      throw new JobArtifactError("dataset list entry is malformed", { details: { index: i } });
    }
    return { batchHash: x.batchHash, sha256: x.sha256 };
  });
  if (batches.length !== expect.numBatches) {
    throw new JobArtifactError("dataset list has the wrong number of batches", {
      details: { want: expect.numBatches, got: batches.length },
    });
  }
  const root = dataTree(batches.map((b) => b.batchHash)).root;
  if (root !== expect.dataRoot.toLowerCase())
    throw new JobArtifactError("dataset list does not rebuild the data root", { details: { want: expect.dataRoot, got: root } });
  return { version: DATASET_LIST_VERSION, dataRoot: root, batches };
}
