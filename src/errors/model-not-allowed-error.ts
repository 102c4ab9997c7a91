import { brand, brandOf, FinOpsError } from './finops-error.js';

/** Thrown before a request is sent, when a model policy forbids the model for this call. */
export class ModelNotAllowedError extends FinOpsError {
  override name = 'ModelNotAllowedError';
  /** The policy that forbids it. */
  readonly policy: string;
  /** The model id as called. */
  readonly modelId: string;
  /** The base model it was matched as, when known. */
  readonly baseModelId: string | undefined;

  constructor(policy: string, modelId: string, baseModelId: string | undefined) {
    super(`Model "${modelId}"${baseModelId !== undefined && baseModelId !== modelId ? ` (${baseModelId})` : ''} is not allowed by policy "${policy}". Nothing was sent.`);
    this.policy = policy;
    this.modelId = modelId;
    this.baseModelId = baseModelId;
    brand(this, 'ModelNotAllowedError');
  }
}

/** Whether `error` is a {@link ModelNotAllowedError} (works across realms and duplicate installs). */
export function isModelNotAllowedError(error: unknown): error is ModelNotAllowedError {
  return brandOf(error) === 'ModelNotAllowedError';
}
