import type { OnceReporter } from '../diagnostics.js';
import type { UsageDelivery } from '../model/operations.js';
import type { Attribution } from '../record.js';
import { parseInvokeRequestMetadata, requestMetadataFor } from './request-metadata.js';

/**
 * The arguments to send with `propagateToBedrock`: a copy whose input also carries the
 * attribution as `requestMetadata` (a field on Converse, a JSON header on InvokeModel). The
 * caller's input object is never changed; on any failure the arguments go out as they came.
 */
export function withRequestMetadata<A extends { readonly input: unknown }>(args: A, delivery: UsageDelivery, attribution: Attribution, reporter: OnceReporter): A {
  if (delivery === 'bidi-stream') return args;
  try {
    const input = args.input as Record<string, unknown>;
    const isInvoke = delivery === 'invoke' || delivery === 'invoke-stream';
    const existing = isInvoke ? parseInvokeRequestMetadata(input.requestMetadata) : input.requestMetadata;
    const merged = requestMetadataFor(attribution, existing);
    if (merged === undefined) return args;
    return { ...args, input: { ...input, requestMetadata: isInvoke ? JSON.stringify(merged) : merged } };
  } catch (error) {
    reporter.error('propagate', 'could not add request metadata (sent without it)', error);
    return args;
  }
}
