import type { UsageDelivery } from '../model/operations.js';
import { pick } from './json.js';
import { tokensForChars } from './heuristic.js';
import { MAX_PLAUSIBLE_TOKENS } from './token-usage.js';

function textLength(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

/** Characters of a Converse tool-use input (a JSON document) as the model wrote it. */
function documentLength(value: unknown): number {
  if (value === undefined) return 0;
  try {
    return JSON.stringify(value).length;
  } catch {
    return 0;
  }
}

/** Bytes of redacted (encrypted) reasoning: billed as output like the reasoning it hides. */
function bytesLength(value: unknown): number {
  return value instanceof Uint8Array ? value.byteLength : textLength(value);
}

/** Characters of the text blocks a citations block answers with. */
function citedChars(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let chars = 0;
  for (const part of content as unknown[]) chars += textLength(pick(part, 'text'));
  return chars;
}

/** Characters of output in a Converse `output.message.content`: text, reasoning (text or redacted), tool-use input, cited text. */
function converseOutputChars(output: unknown): number {
  const content = pick(output, 'output', 'message', 'content');
  if (!Array.isArray(content)) return 0;
  let chars = 0;
  for (const block of content as unknown[]) {
    const reasoning = pick(block, 'reasoningContent');
    chars += textLength(pick(block, 'text')) + textLength(pick(reasoning, 'reasoningText', 'text')) + bytesLength(pick(reasoning, 'redactedContent'));
    chars += documentLength(pick(block, 'toolUse', 'input')) + citedChars(pick(block, 'citationsContent', 'content'));
  }
  return chars;
}

/**
 * Whether a successful Converse answer reporting 0 output tokens returned output anyway (a proxy
 * that wrote 0 in place of the count): Bedrock bills at least one token for any output. A
 * guardrail that intervened answers with its own message and 0 output: that 0 stands.
 */
export function zeroOutputWithText(output: unknown): boolean {
  try {
    return pick(output, 'stopReason') !== 'guardrail_intervened' && converseOutputChars(output) > 0;
  } catch {
    return false;
  }
}

/**
 * Output tokens a unary response (a Converse or InvokeModel SDK output) carries, by the heuristic:
 * Converse's text, reasoning text and tool-use input; an InvokeModel body's whole length (its
 * JSON around the text is counted too, so it errs high). What the call is charged when its
 * reported output count is not believed and it set no cap. Bounded by `MAX_PLAUSIBLE_TOKENS`;
 * never throws.
 */
export function returnedOutputTokens(delivery: UsageDelivery, output: unknown): number {
  try {
    let chars = 0;
    if (delivery === 'converse') chars = converseOutputChars(output);
    else if (delivery === 'invoke') {
      const body = pick(output, 'body');
      chars = body instanceof Uint8Array ? body.byteLength : textLength(body);
    }
    return Math.min(MAX_PLAUSIBLE_TOKENS, tokensForChars(chars));
  } catch {
    // A getter on a response a user middleware built: nothing read.
    return 0;
  }
}
