/**
 * `upow`: the integrator SDK (docs/integrators.md). Create a training job, follow it, read its
 * verified result and download the trained model, over an ethers v6 signer/provider; viem users
 * get the contracts' ABIs `as const` and the deployment's addresses; ethers users the typechain
 * factories. Every error the SDK reports is an SdkError (a UPowError).
 */
export {
  createJob,
  serveArtifacts,
  openArtifactStore,
  s3ArtifactStore,
  watchJob,
  waitForFinal,
  JOB_EVENTS,
  FINAL_STATUSES,
  type CreateJobOptions,
  type CreatedJob,
  type ArtifactServer,
  type JobEvent,
  type JobEventName,
  type JobWatcher,
  type WatchJobOptions,
  type WaitForFinalOptions,
  type FinalStatus,
} from "./jobs";
export { getResult, type GetResultOptions, type JobReadOptions, type JobResult, type LossPoint } from "./result";
export { downloadModel, type DownloadedModel } from "./model";
export { evaluateModel, mnistTestSet, type Evaluation, type LabelledSet } from "./evaluate";
export { MNIST_TEST_SIZE } from "../engine/data";
export { deploymentAddresses, type Address, type UPowAddresses } from "./addresses";
export { SdkError, SdkInputError, JobNotFoundError, JobNotFinalError, WaitTimeoutError, ResultArtifactError } from "./errors";
export * from "./abis.generated";

// Reading a deployment file, the status names, the manifest and result-index parsers.
export {
  loadDeployment,
  DeploymentNotFoundError,
  DeploymentInvalidError,
  DeploymentChainMismatchError,
  type Deployment,
} from "../chain/registry";
export { JobStatus, jobStatusName } from "../protocol/enums";
export { parseResultIndex, ResultIndexError, type ParseResultIndexOptions, type ResultIndex } from "../protocol/resultIndex";
export { parseManifest, type JobManifest, type Tolerance } from "../engine/manifest";
export { fileHashOfSync } from "../engine/statehash";
export { readSafetensors, writeSafetensors } from "../engine/safetensors";
// For a transaction sender other than ethers (viem): build and check the job, then send createJob yourself.
export {
  prepareMnistJob,
  DEFAULT_MODEL,
  DEFAULT_JOB_TOLERANCE,
  type PrepareMnistJobParameters,
  type PreparedJob,
} from "../requester/createJob";
export { validateJobSpec, type JobSpecTerms, type ValidateJobSpecParameters } from "../requester/validateJob";
export { JobSpecInvalidError, CreateJobError } from "../requester/errors";
export { UPowError } from "../errors";
export type { ModelSpec, Activation, OptimizerKind } from "../engine/onnx";
export type { Hash } from "../protocol/hashing";
export type { MnistJobOptions } from "../requester/createJob";
export type { LocalStore, RemoteArtifactStore } from "../store";
export type { S3StoreOptions, S3Credentials } from "../store/s3Options";

// ethers v6: typechain contract types and factories.
export {
  JobMarket__factory,
  AuditManager__factory,
  DisputeManager__factory,
  StakeManager__factory,
  DataAvailability__factory,
  CanaryRegistry__factory,
  IERC20__factory,
  TestToken__factory,
  type JobMarket,
  type AuditManager,
  type DisputeManager,
  type StakeManager,
  type DataAvailability,
  type CanaryRegistry,
  type IERC20,
  type TestToken,
} from "../../typechain-types";
