import { ConfigurationError } from '../errors/configuration-error.js';
import { errorName } from '../errors/error-name.js';
import type { OnceReporter } from '../diagnostics.js';
import { heuristicInputTokens, type EstimateRequest, type InputEstimator } from './estimate.js';

/** The first `@aws-sdk/client-bedrock-runtime` release with `CountTokensCommand`. */
export const COUNT_TOKENS_MIN_SDK_VERSION = '3.872.0';

/**
 * The part of a `BedrockRuntimeClient` the count-tokens estimator uses. Structural (no SDK type),
 * so the library's types do not need an SDK version that has `CountTokensCommand`.
 */
export interface CountTokensClient {
  send(command: never): Promise<unknown>;
}

/** What `CountTokensCommand` takes, as far as the estimator builds it. */
interface CountTokensRequest {
  readonly modelId: string;
  readonly input: { readonly converse: Readonly<Record<string, unknown>> } | { readonly invokeModel: { readonly body: Uint8Array } };
}
type CountTokensCommandClass = new (input: CountTokensRequest) => object;

let commandClass: Promise<CountTokensCommandClass> | undefined;

/**
 * Loads `CountTokensCommand` on first use, not at import: the SDK versions the peer range allows
 * before it existed must still load the library.
 */
function loadCountTokensCommand(): Promise<CountTokensCommandClass> {
  commandClass ??= import('@aws-sdk/client-bedrock-runtime').then((sdk: Record<string, unknown>) => {
    const command = 'CountTokensCommand' in sdk ? sdk.CountTokensCommand : undefined;
    if (typeof command !== 'function') {
      throw new ConfigurationError(
        'estimator',
        `'count-tokens' needs @aws-sdk/client-bedrock-runtime >= ${COUNT_TOKENS_MIN_SDK_VERSION} (CountTokensCommand); the installed version has none`,
      );
    }
    return command as CountTokensCommandClass;
  });
  return commandClass;
}

function countTokensInput(request: EstimateRequest): CountTokensRequest['input'] | undefined {
  const i = request.input as Record<string, unknown> | undefined;
  if (i === undefined) return undefined;
  if (request.operation === 'Converse' || request.operation === 'ConverseStream') {
    return { converse: { messages: i.messages, system: i.system, toolConfig: i.toolConfig } };
  }
  const body = i.body;
  if (typeof body === 'string') return { invokeModel: { body: new TextEncoder().encode(body) } };
  if (body instanceof Uint8Array) return { invokeModel: { body } };
  return undefined;
}

function inputTokensOf(output: unknown): number | undefined {
  if (typeof output !== 'object' || output === null || !('inputTokens' in output)) return undefined;
  return typeof output.inputTokens === 'number' ? output.inputTokens : undefined;
}

/**
 * `estimator: 'count-tokens'`: exact input counts from Bedrock's free `CountTokens` API (one
 * extra round trip before each budgeted call). Models it does not support, or a failure, fall
 * back to the heuristic, reported once per model. An SDK older than
 * {@link COUNT_TOKENS_MIN_SDK_VERSION} rejects with a `ConfigurationError` naming that version,
 * which admission reports once and answers with the heuristic: calls are never stopped by it.
 */
export function countTokensEstimator(client: CountTokensClient, reporter: OnceReporter): InputEstimator {
  return async (request) => {
    const input = countTokensInput(request);
    const modelId = request.baseModelId ?? request.modelId;
    if (input === undefined) return heuristicInputTokens(request.operation, request.input);
    const CountTokensCommand = await loadCountTokensCommand();
    try {
      const tokens = inputTokensOf(await client.send(new CountTokensCommand({ modelId, input }) as never));
      if (tokens !== undefined) return tokens;
    } catch (error) {
      reporter.warn(`count-tokens:${modelId.slice(0, 200)}`, `CountTokens failed for ${modelId.slice(0, 200)} (${errorName(error)}); estimating with the heuristic`);
    }
    return heuristicInputTokens(request.operation, request.input);
  };
}
