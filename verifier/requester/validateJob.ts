/**
 * The requester's check before `createJob` (issue 15 item 8): a job whose manifest no worker or
 * verifier can use would sit Open with its escrow locked, silently. So the requester runs the
 * checks they run, on a fresh scratch store (so only what its URIs serve counts): the manifest is
 * fetched from specURI (an artifact URI whose bytes hash to specHash), parsed and cross-checked
 * with the terms about to go on chain; the step graph is fetched and its cost re-derived by shape
 * inference (ManifestSpecLoader, as a verifier); the dataset list parses against the data root;
 * the initial state hashes to its committed hash and fits stateBytes; the first batch fetches and
 * hashes right. Any failure is a JobSpecInvalidError that names it, before a transaction is sent.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino, { type Logger } from "pino";
import type { BigNumberish, BytesLike } from "ethers";
import { UPowError } from "../errors";
import type { Hash } from "../protocol/hashing";
import { checkToleranceFloors, manifestIntegers } from "../engine/manifest";
import { DEFAULT_FLOORS } from "../engine/calibrate";
import { ArtifactClient, splitArtifactUri } from "../daemon/check/artifacts";
import { ManifestSpecLoader, type JobSpec } from "../daemon/check/spec";
import { ArtifactFetchFailedError, LocalStore } from "../store";
import { ArtifactProblemError, InvalidSpecError, JobAboveCapsError } from "../daemon/errors";
import { JobSpecInvalidError } from "./errors";

/** The createJob terms the checks compare with the manifest (CreateJobParamsStruct's fields). */
export interface JobSpecTerms {
  specHash: BytesLike;
  specURI: string;
  dataRoot: BytesLike;
  initialStateHash: BytesLike;
  totalSteps: BigNumberish;
  checkpointInterval: BigNumberish;
  numBatches: BigNumberish;
  flopsPerStep: BigNumberish;
  stateBytes: BigNumberish;
}

export interface ValidateJobSpecParameters {
  terms: JobSpecTerms;
  /**
   * Fetch from loopback and private addresses too. Verifiers refuse them unless their operator
   * allows them (--allow-private-artifacts), so only a local chain should need this.
   */
  allowPrivateArtifacts: boolean;
  /** Per try of one fetch. @default 30_000 */
  timeoutMs?: number;
  /** @default silent */
  logger?: Logger;
}

const hex = (b: BytesLike): Hash => (typeof b === "string" ? b.toLowerCase() : `0x${Buffer.from(b).toString("hex")}`) as Hash;

/** The short message, with the last mirror's reason when a fetch failed (it says what to fix). */
function reasonOf(cause: unknown): string {
  if (!(cause instanceof UPowError)) return String(cause);
  const fetch = cause.cause instanceof ArtifactFetchFailedError ? cause.cause : undefined;
  const last = fetch?.attempts[fetch.attempts.length - 1]?.error.shortMessage;
  return last === undefined ? cause.shortMessage : `${cause.shortMessage} (${last})`;
}

/** Which part of the spec a loader error is about (its class and the part it names). */
function partOf(cause: unknown): JobSpecInvalidError["what"] {
  if (cause instanceof InvalidSpecError || cause instanceof JobAboveCapsError) return "graph";
  const details = cause instanceof UPowError ? (cause.details ?? {}) : {};
  if (cause instanceof ArtifactProblemError)
    return details.what === "step graph" ? "graph" : details.what === "dataset list" ? "dataset" : "manifest";
  if (details.field !== undefined) return "terms";
  return cause instanceof UPowError && cause.shortMessage.startsWith("dataset") ? "dataset" : "manifest";
}

/** Runs the workers' and verifiers' checks of the job's spec; resolves with the spec, or throws JobSpecInvalidError. */
export async function validateJobSpec(p: ValidateJobSpecParameters): Promise<JobSpec> {
  const t = p.terms;
  const terms = {
    jobId: 0n,
    specHash: hex(t.specHash),
    specURI: t.specURI,
    dataRoot: hex(t.dataRoot),
    initialStateHash: hex(t.initialStateHash),
    totalSteps: BigInt(t.totalSteps),
    checkpointInterval: BigInt(t.checkpointInterval),
    numBatches: BigInt(t.numBatches),
    flopsPerStep: BigInt(t.flopsPerStep),
    stateBytes: BigInt(t.stateBytes),
  };
  const dir = await mkdtemp(path.join(tmpdir(), "upow-requester-check-"));
  try {
    const client = new ArtifactClient({
      store: await LocalStore.open(dir),
      logger: p.logger ?? pino({ level: "silent" }),
      urlPolicy: { allowPrivate: p.allowPrivateArtifacts },
      timeoutMs: p.timeoutMs ?? 30_000,
      retries: 1,
      backoffMs: 100,
    });
    let spec: JobSpec;
    try {
      spec = await new ManifestSpecLoader(client).load(terms);
    } catch (cause) {
      throw new JobSpecInvalidError(partOf(cause), `job spec rejected before createJob: ${reasonOf(cause)}`, {
        cause,
        details: cause instanceof UPowError ? cause.details : undefined,
      });
    }
    // Workers refuse a job whose declared costs differ from the manifest's (decider.ts).
    // Workers decline tolerances below the floors (verifier/worker/prepare.ts): such a job would sit Open.
    try {
      checkToleranceFloors(spec.manifest.tolerance, DEFAULT_FLOORS);
    } catch (cause) {
      throw new JobSpecInvalidError("manifest", `job spec rejected before createJob: ${reasonOf(cause)} (workers decline it)`, {
        cause,
        details: cause instanceof UPowError ? cause.details : undefined,
      });
    }
    const ints = manifestIntegers(spec.manifest);
    for (const [field, spec_, chain] of [
      ["flopsPerStep", ints.flopsPerStep, terms.flopsPerStep],
      ["stateBytes", ints.stateBytes, terms.stateBytes],
    ] as const) {
      if (spec_ !== chain)
        throw new JobSpecInvalidError("terms", "job spec rejected before createJob: manifest disagrees with the job's terms", {
          details: { field, terms: chain, manifest: spec_ },
        });
    }
    const init = splitArtifactUri(spec.manifest.initialState.uri);
    if (init === null)
      throw new JobSpecInvalidError(
        "initial state",
        "job spec rejected before createJob: initialState.uri is not <base>/artifacts/<sha256>",
      );
    try {
      const state = await client.fetchState(terms.initialStateHash, init.sha256, [init.base], "initial state", spec.maxStateBytes);
      if (BigInt(state.bytes.length) > terms.stateBytes) {
        throw new UPowError("initial state is larger than the declared stateBytes", {
          details: { bytes: state.bytes.length, stateBytes: terms.stateBytes },
        });
      }
    } catch (cause) {
      throw new JobSpecInvalidError("initial state", `job spec rejected before createJob: ${reasonOf(cause)}`, { cause });
    }
    try {
      await spec.batch(0);
    } catch (cause) {
      throw new JobSpecInvalidError("batch", `job spec rejected before createJob: ${reasonOf(cause)}`, { cause });
    }
    return spec;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
