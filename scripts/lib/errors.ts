/** Typed errors of the deploy and governance scripts. */
import { UPowError } from "../../verifier/errors";

export class DeployError extends UPowError {
  override readonly name: string = "DeployError";
}

/** The per-network config file is missing or malformed. */
export class DeployConfigError extends DeployError {
  override readonly name: string = "DeployConfigError";
  constructor(message: string, details: Record<string, unknown> & { cause?: unknown }) {
    const { cause, ...rest } = details;
    super(message, { cause, details: rest });
  }
}

/** A deployment file exists already and `force` was not given. */
export class DeploymentExistsError extends DeployError {
  override readonly name: string = "DeploymentExistsError";
}

/** The connected chain is not the one the config or deployment file names. */
export class ChainIdMismatchError extends DeployError {
  override readonly name: string = "ChainIdMismatchError";
}

/** A governance call names an unknown contract, parameter or role, or a bad value. */
export class GovernanceError extends DeployError {
  override readonly name: string = "GovernanceError";
}
