import type { Call, Settlement } from '../call.js';
import { ZERO_USAGE } from '../usage/token-usage.js';

/**
 * The settlement of a call that was admitted by budgets but never sent (a quota refused it
 * after): nothing used, so committing it releases the budget reservation exactly. It reaches
 * the budget store only; no sink sees it and no record is emitted.
 */
export function unsentSettlement(call: Call): Settlement {
  return {
    record: {
      operation: call.info.operation,
      requestedModelId: call.requestedModelId,
      modelId: call.modelId,
      modelKind: call.model.ref.kind,
      baseModelId: call.model.baseModelId,
      attribution: call.attribution,
      ...ZERO_USAGE,
      serviceTier: call.serviceTier,
      performanceLatency: call.performanceLatency,
      usageSource: 'none',
      costUsd: 0,
      onDemandEquivalentUsd: undefined,
      durationMs: 0,
      timeToFirstChunkMs: undefined,
      startedAt: call.startedAt,
      fallback: undefined,
      outcome: 'error',
      error: undefined,
      requestId: undefined,
    },
    genAiOperation: 'chat',
    serverAddress: call.serverAddress,
    serverPort: call.serverPort,
  };
}
