/** Content-addressed artifact store: local directory, HTTP server, fetching client, remote mirrors (s3Store.ts is imported directly: the AWS SDK loads only where S3 is used). */
export * from "./errors";
export { sha256Hex, toArtifactHash } from "./hash";
export { LocalStore } from "./localStore";
export { startStoreServer, type StateRequestHandler, type StoreServerHandle } from "./server";
export { fetchArtifact, type FetchArtifactParameters } from "./fetchArtifact";
export { serveStoreCommand } from "./serveCommand";
export { backoffDelay, isRetryable } from "./retry";
export {
  checkArtifactBases,
  checkArtifactUrl,
  classifyAddress,
  guardedLookup,
  MAX_ARTIFACT_BASES,
  type ArtifactUrlPolicy,
} from "./urlPolicy";
export { mirrorToRemote, type RemoteArtifactStore } from "./remoteStore";
