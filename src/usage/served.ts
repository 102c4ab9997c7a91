/**
 * What a response says about who served a call (service tier, routed model, request id) is data
 * from the network, recorded in every record, ledger line and (the model) metric series: each is
 * believed only when it could be what Bedrock sends, so a response cannot put text (a prompt a
 * proxy echoes, a completion) or megabytes there. What is not believed is ignored: the call keeps
 * what it knew before (the tier it asked for, the model it was sent to, no request id).
 */

/** Longest service tier believed (Bedrock's are `default`, `priority`, `flex`, `reserved`). */
export const MAX_TIER_LENGTH = 32;
/** Longest model id or ARN believed: Bedrock's own limit on a `modelId`. */
export const MAX_MODEL_ID_LENGTH = 2048;
/** Longest request id believed (AWS request ids are 36-character UUIDs, or about 52 characters). */
export const MAX_REQUEST_ID_LENGTH = 128;

const TIER = /^[A-Za-z0-9_.-]+$/;
// Request ids: UUIDs (`x-amzn-requestid`), hex or base64 ids (`x-amz-request-id`, `x-amz-id-2`); no spaces, so no prose.
const REQUEST_ID = /^[A-Za-z0-9_.:/+=-]+$/;
// Model ids, inference profile ids and ARNs: `us.anthropic.claude-…-v1:0`, `arn:aws:bedrock:…:inference-profile/…`.
const MODEL_ID = /^[A-Za-z0-9_.:/-]+$/;

/** A service tier the response named, if it can be one. */
export function believedTier(tier: unknown): string | undefined {
  return typeof tier === 'string' && tier.length > 0 && tier.length <= MAX_TIER_LENGTH && TIER.test(tier) ? tier : undefined;
}

/** A model id the response named (a prompt router's `invokedModelId`), if it can be one. */
export function believedModelId(id: unknown): string | undefined {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_MODEL_ID_LENGTH && MODEL_ID.test(id) ? id : undefined;
}

/**
 * A request id (`x-amzn-requestid`), if it can be one: no longer than one can be, and made of what
 * ids are made of (a proxy echoing a sentence there is no id). Every call has one: a length compare
 * and a regular expression over about 36 characters (~60 ns).
 */
export function believedRequestId(id: string | undefined): string | undefined {
  return id === undefined || (id.length <= MAX_REQUEST_ID_LENGTH && REQUEST_ID.test(id)) ? id : undefined;
}
