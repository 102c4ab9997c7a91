/** `gen_ai.operation.name` values this library reports. */
/** `rerank` is not (yet) a semantic-convention value; Bedrock's rerank models produce no output tokens. */
export type GenAiOperationName = 'chat' | 'text_completion' | 'embeddings' | 'rerank';

// InvokeModel speaks each family's native API; the operation follows from the family's format.
// Longest prefix first; anything not listed is a chat model.
const INVOKE_OPERATIONS: readonly (readonly [string, GenAiOperationName])[] = [
  ['amazon.titan-embed', 'embeddings'],
  ['amazon.nova-2-multimodal-embeddings', 'embeddings'],
  ['cohere.embed', 'embeddings'],
  ['twelvelabs.marengo-embed', 'embeddings'],
  ['cohere.rerank', 'rerank'],
  ['amazon.rerank', 'rerank'],
  ['amazon.titan-text', 'text_completion'],
  ['amazon.titan-tg1', 'text_completion'],
  ['meta.', 'text_completion'],
  ['mistral.mistral-7b', 'text_completion'],
  ['mistral.mixtral', 'text_completion'],
  ['cohere.command-text', 'text_completion'],
  ['cohere.command-light-text', 'text_completion'],
  ['deepseek.r1', 'text_completion'],
];

/** The GenAI operation an InvokeModel call to `baseModelId` performs. */
export function invokeOperationName(baseModelId: string | undefined): GenAiOperationName {
  if (baseModelId === undefined) return 'chat';
  for (const [prefix, name] of INVOKE_OPERATIONS) if (baseModelId.startsWith(prefix)) return name;
  return 'chat';
}
