import { Buffer } from 'node:buffer';
import { asCount, parseJsonObject, pick } from '../../usage/json.js';
import { decodeEventStream, decodeEventStreamMessage, encodeEventStreamMessage, invokeStreamChunk, type DecodedEventStreamMessage } from '../event-stream.js';
import { generatedWords, tokensOfText } from './tokens.js';

/** Bytes of input audio per simulated token: 20 ms of 16 kHz 16-bit mono PCM. */
export const AUDIO_BYTES_PER_TOKEN = 640;

/** What one session used so far (cumulative, as Nova Sonic's `usageEvent` reports it). */
export interface BidiTotals {
  input: number;
  output: number;
}

/**
 * The JSON event inside one input message. The SDK signs each message of the input stream by
 * wrapping it (`:chunk-signature`, `:date`, the original message as the body) and ends with an
 * empty signed message; an unsigned message is read as it is.
 */
function inputEvent(message: DecodedEventStreamMessage): unknown {
  let inner = message;
  if (message.headers[':chunk-signature'] !== undefined) {
    if (message.body.byteLength === 0) return undefined;
    inner = decodeEventStreamMessage(message.body);
  }
  if (inner.headers[':event-type'] !== 'chunk') return undefined;
  const bytes = pick(parseJsonObject(inner.body), 'bytes');
  return typeof bytes === 'string' ? parseJsonObject(Buffer.from(bytes, 'base64')) : undefined;
}

const chunk = (event: Record<string, unknown>): Uint8Array => encodeEventStreamMessage(invokeStreamChunk({ event }));

/** The events of one reply: a completion with one text block, then the cumulative usage. */
function reply(promptName: string, words: readonly string[], totals: BidiTotals): Uint8Array[] {
  const ids = { sessionId: 'sim-session', promptName, completionId: `sim-completion-${totals.output}` };
  return [
    chunk({ completionStart: ids }),
    chunk({ contentStart: { ...ids, contentId: 'sim-content', type: 'TEXT', role: 'ASSISTANT' } }),
    chunk({ textOutput: { ...ids, contentId: 'sim-content', role: 'ASSISTANT', content: words.join(' ') } }),
    chunk({ contentEnd: { ...ids, contentId: 'sim-content', stopReason: 'END_TURN', type: 'TEXT' } }),
    chunk({
      usageEvent: {
        ...ids,
        totalInputTokens: totals.input,
        totalOutputTokens: totals.output,
        totalTokens: totals.input + totals.output,
      },
    }),
    chunk({ completionEnd: { ...ids, stopReason: 'END_TURN' } }),
  ];
}

/**
 * A Nova Sonic-style bidirectional session (InvokeModelWithBidirectionalStream): reads the
 * client's events as they arrive and answers each `promptEnd` with a text reply and a cumulative
 * `usageEvent`. Text input costs `ceil(characters / 4)` tokens, audio one token per
 * {@link AUDIO_BYTES_PER_TOKEN} bytes; a reply is `min(maxTokens, outputTokens)` words.
 * `onUsage` gets each reply's added tokens (for the simulator's stats).
 */
export async function* bidirectionalSession(
  input: AsyncIterable<Uint8Array>,
  outputTokens: number,
  onUsage: (added: BidiTotals) => void,
): AsyncGenerator<Uint8Array> {
  const totals: BidiTotals = { input: 0, output: 0 };
  let maxTokens = outputTokens;
  let pendingInput = 0;
  for await (const message of decodeEventStream(input)) {
    const event = pick(inputEvent(message), 'event');
    const max = asCount(pick(event, 'sessionStart', 'inferenceConfiguration', 'maxTokens'));
    if (max !== undefined) maxTokens = Math.min(outputTokens, max);
    const text = pick(event, 'textInput', 'content');
    if (typeof text === 'string') pendingInput += tokensOfText(text);
    const audio = pick(event, 'audioInput', 'content');
    if (typeof audio === 'string') pendingInput += Math.ceil(Buffer.byteLength(audio, 'base64') / AUDIO_BYTES_PER_TOKEN);
    const promptName = pick(event, 'promptEnd', 'promptName');
    if (typeof promptName === 'string') {
      totals.input += pendingInput;
      totals.output += maxTokens;
      onUsage({ input: pendingInput, output: maxTokens });
      pendingInput = 0;
      yield* reply(promptName, generatedWords(maxTokens), totals);
    }
    if (pick(event, 'sessionEnd') !== undefined) return;
  }
}
