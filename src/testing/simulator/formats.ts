import { asCount, asObject, pick } from '../../usage/json.js';

/** A usage to report. */
export interface SimUsage {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
}

/** How the simulator speaks one model family's InvokeModel body format. */
export interface SimFormat {
  /** The request's own output cap, if it sets one. */
  maxTokens(body: unknown): number | undefined;
  /** Whether the family generates text (embeddings do not). */
  readonly generates: boolean;
  body(words: readonly string[], usage: SimUsage): unknown;
  /** Stream chunks (decoded JSON), without Bedrock's invocation metrics. */
  chunks(words: readonly string[], usage: SimUsage, perChunk: number): unknown[];
}

function groups(words: readonly string[], perChunk: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i += perChunk) out.push(words.slice(i, i + perChunk).join(' ') + ' ');
  return out;
}

const anthropic: SimFormat = {
  maxTokens: (b) => asCount(pick(b, 'max_tokens')),
  generates: true,
  body: (words, u) => ({
    id: 'msg_sim',
    type: 'message',
    role: 'assistant',
    model: 'simulated',
    content: [{ type: 'text', text: words.join(' ') }],
    stop_reason: 'end_turn',
    usage: { input_tokens: u.input, output_tokens: u.output, cache_read_input_tokens: u.cacheRead, cache_creation_input_tokens: u.cacheWrite },
  }),
  chunks: (words, u, n) => [
    { type: 'message_start', message: { id: 'msg_sim', role: 'assistant', usage: { input_tokens: u.input, output_tokens: 1, cache_read_input_tokens: u.cacheRead, cache_creation_input_tokens: u.cacheWrite } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...groups(words, n).map((text) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: u.output } },
    { type: 'message_stop' },
  ],
};

const nova: SimFormat = {
  maxTokens: (b) => asCount(pick(b, 'inferenceConfig', 'max_new_tokens')) ?? asCount(pick(b, 'inferenceConfig', 'maxTokens')),
  generates: true,
  body: (words, u) => ({
    output: { message: { role: 'assistant', content: [{ text: words.join(' ') }] } },
    stopReason: 'end_turn',
    usage: { inputTokens: u.input, outputTokens: u.output, totalTokens: u.input + u.output + u.cacheRead + u.cacheWrite, cacheReadInputTokenCount: u.cacheRead, cacheWriteInputTokenCount: u.cacheWrite },
  }),
  chunks: (words, u, n) => [
    { messageStart: { role: 'assistant' } },
    ...groups(words, n).map((text) => ({ contentBlockDelta: { delta: { text }, contentBlockIndex: 0 } })),
    { contentBlockStop: { contentBlockIndex: 0 } },
    { messageStop: { stopReason: 'end_turn' } },
    { metadata: { usage: { inputTokens: u.input, outputTokens: u.output, cacheReadInputTokenCount: u.cacheRead, cacheWriteInputTokenCount: u.cacheWrite } } },
  ],
};

const titanText: SimFormat = {
  maxTokens: (b) => asCount(pick(b, 'textGenerationConfig', 'maxTokenCount')),
  generates: true,
  body: (words, u) => ({ inputTextTokenCount: u.input, results: [{ tokenCount: u.output, outputText: words.join(' '), completionReason: 'FINISH' }] }),
  chunks: (words, u, n) => {
    const parts = groups(words, n);
    return parts.map((outputText, i) => ({
      outputText,
      index: 0,
      inputTextTokenCount: i === 0 ? u.input : null,
      totalOutputTextTokenCount: i === parts.length - 1 ? u.output : null,
      completionReason: i === parts.length - 1 ? 'FINISH' : null,
    }));
  },
};

const titanEmbed: SimFormat = {
  maxTokens: () => undefined,
  generates: false,
  body: (_words, u) => ({ embedding: [0.125, -0.5, 0.25, 0.0625, -0.125, 0.5, -0.25, 0.75], inputTextTokenCount: u.input }),
  chunks: () => [],
};

const llama: SimFormat = {
  maxTokens: (b) => asCount(pick(b, 'max_gen_len')),
  generates: true,
  body: (words, u) => ({ generation: words.join(' '), prompt_token_count: u.input, generation_token_count: u.output, stop_reason: 'stop' }),
  chunks: (words, u, n) => {
    const parts = groups(words, n);
    let seen = 0;
    return parts.map((generation, i) => {
      seen = Math.min(u.output, seen + n);
      return { generation, prompt_token_count: i === 0 ? u.input : null, generation_token_count: seen, stop_reason: i === parts.length - 1 ? 'stop' : null };
    });
  },
};

// Longest prefix first: amazon covers three formats.
const FORMATS: readonly [string, SimFormat][] = [
  ['anthropic.', anthropic],
  ['amazon.nova', nova],
  ['amazon.titan-embed', titanEmbed],
  ['amazon.titan-text', titanText],
  ['amazon.titan-tg1', titanText],
  ['meta.', llama],
];

/** The InvokeModel format of a base model id, if the simulator speaks it. */
export function formatFor(baseModelId: string | undefined): SimFormat | undefined {
  if (baseModelId === undefined) return undefined;
  for (const [prefix, format] of FORMATS) if (baseModelId.startsWith(prefix)) return format;
  return undefined;
}

/** Whether an InvokeModel body is a JSON object at all. */
export function isJsonObject(value: unknown): boolean {
  return asObject(value) !== undefined;
}
