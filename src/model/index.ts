// `bedrock-finops/models`: what a Bedrock model id or ARN names.
export { parseModelId, INFERENCE_PROFILE_GEOGRAPHIES } from './model-id.js';
export type { ModelKind, ModelRef } from './model-id.js';
