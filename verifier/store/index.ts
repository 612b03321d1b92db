/** Content-addressed artifact store: local directory, HTTP server, fetching client, remote mirrors (s3Store.ts is imported directly: the AWS SDK loads only where S3 is used). */
export * from "./errors";
export { ARTIFACT_HASH_PATTERN, assertArtifactHash, isArtifactHash, sha256Hex, toArtifactHash } from "./hash";
export { ArtifactWriter, LocalStore, type ArtifactWriterOptions, type PutOptions } from "./localStore";
export { startStoreServer, type StartStoreServerParameters, type StateRequestHandler, type StoreServerHandle } from "./server";
export { fetchArtifact, type FetchArtifactParameters, type FetchArtifactReturnType } from "./fetchArtifact";
export { serveStoreCommand, type ServeStoreCommandOptions } from "./serveCommand";
export { backoffDelay, isRetryable } from "./retry";
export { silentLogger, type Logger } from "./logger";
export { checkArtifactBases, checkArtifactUrl, classifyAddress, guardedLookup, MAX_ARTIFACT_BASES, MAX_ARTIFACT_URL_LENGTH, type AddressClass, type ArtifactUrlPolicy } from "./urlPolicy";
export { mirrorToRemote, type RemoteArtifactStore, type RemotePutOptions, type RemotePutSource } from "./remoteStore";
