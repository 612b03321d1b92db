/** The artifact address: plain sha256 of the bytes, 64 lowercase hex characters. */
import { createHash } from "node:crypto";
import { InvalidArtifactHashError } from "./errors";

const ARTIFACT_HASH_PATTERN = /^[0-9a-f]{64}$/;

export function isArtifactHash(value: unknown): value is string {
  return typeof value === "string" && ARTIFACT_HASH_PATTERN.test(value);
}

/** Returns `value` unchanged when it is a canonical address; throws InvalidArtifactHashError otherwise. */
export function assertArtifactHash(value: unknown): string {
  if (!isArtifactHash(value)) throw new InvalidArtifactHashError(value);
  return value;
}

/**
 * Canonicalises a hash written by other tools (`0x` prefix from a bytes32, upper case) into the
 * store's address form. Anything else that is not 32 bytes of hex is rejected.
 */
export function toArtifactHash(value: string): string {
  const bare = value.startsWith("0x") || value.startsWith("0X") ? value.slice(2) : value;
  return assertArtifactHash(bare.toLowerCase());
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
