import { Buffer } from 'node:buffer';
import { parseModelId } from '../../model/model-id.js';
import { pick } from '../../usage/json.js';
import { errorResponse, jsonResponse, type SimResponse } from './responses.js';
import { converseInput, invokeInput } from './tokens.js';
import type { BedrockSimulatorOptions } from './types.js';

/** The base model a model id runs (a provisioned ARN runs what the simulator was told), or an error response. */
export function resolveModel(modelId: string, provisioned: BedrockSimulatorOptions['provisioned']): { base: string } | SimResponse {
  const ref = parseModelId(modelId);
  if (ref.kind === 'provisioned-model') {
    const p = provisioned?.[modelId];
    if (p === undefined) return errorResponse(404, 'ResourceNotFoundException', `Provisioned model ${modelId} not found.`);
    const base = parseModelId(p.model).baseModelId;
    return base === undefined ? errorResponse(400, 'ValidationException', 'The provided model identifier is invalid.') : { base };
  }
  if (ref.baseModelId === undefined) return errorResponse(400, 'ValidationException', 'The provided model identifier is invalid.');
  return { base: ref.baseModelId };
}

/** CountTokens: the input tokens of a Converse or InvokeModel input, by the simulator's rule. */
export function countTokensResponse(payload: unknown): SimResponse {
  const converse = pick(payload, 'input', 'converse');
  if (converse !== undefined) return jsonResponse(200, { inputTokens: converseInput(converse).tokens });
  const body = pick(payload, 'input', 'invokeModel', 'body');
  if (typeof body === 'string') {
    try {
      return jsonResponse(200, { inputTokens: invokeInput(JSON.parse(Buffer.from(body, 'base64').toString('utf8'))) });
    } catch {
      return errorResponse(400, 'ValidationException', 'input.invokeModel.body must be base64-encoded JSON.');
    }
  }
  return errorResponse(400, 'ValidationException', 'input must have converse or invokeModel.');
}
