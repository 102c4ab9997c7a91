import { CountTokensCommand, type CountTokensCommandInput } from '@aws-sdk/client-bedrock-runtime';
import type { OnceReporter } from '../diagnostics.js';
import { heuristicInputTokens, type EstimateRequest, type InputEstimator } from './estimate.js';

/** The part of a `BedrockRuntimeClient` the count-tokens estimator uses. */
export interface CountTokensClient {
  send(command: CountTokensCommand): Promise<{ inputTokens?: number | undefined }>;
}

function countTokensInput(request: EstimateRequest): CountTokensCommandInput['input'] | undefined {
  const i = request.input as Record<string, unknown> | undefined;
  if (i === undefined) return undefined;
  if (request.operation === 'Converse' || request.operation === 'ConverseStream') {
    return { converse: { messages: i.messages, system: i.system, toolConfig: i.toolConfig } } as CountTokensCommandInput['input'];
  }
  const body = i.body;
  if (typeof body === 'string') return { invokeModel: { body: new TextEncoder().encode(body) } };
  if (body instanceof Uint8Array) return { invokeModel: { body } };
  return undefined;
}

/**
 * `estimator: 'count-tokens'`: exact input counts from Bedrock's free `CountTokens` API (one
 * extra round trip before each budgeted call). Models it does not support, or a failure, fall
 * back to the heuristic, reported once per model.
 */
export function countTokensEstimator(client: CountTokensClient, reporter: OnceReporter): InputEstimator {
  return async (request) => {
    const input = countTokensInput(request);
    const modelId = request.baseModelId ?? request.modelId;
    if (input === undefined) return heuristicInputTokens(request.operation, request.input);
    try {
      const out = await client.send(new CountTokensCommand({ modelId, input }));
      if (typeof out.inputTokens === 'number') return out.inputTokens;
    } catch (error) {
      reporter.warn(`count-tokens:${modelId}`, `CountTokens failed for ${modelId} (${error instanceof Error ? error.name : 'error'}); estimating with the heuristic`);
    }
    return heuristicInputTokens(request.operation, request.input);
  };
}
