/** Bedrock Runtime operations this plugin knows by name (SDK command name without `Command`). */
export type BedrockOperation =
  | 'Converse'
  | 'ConverseStream'
  | 'InvokeModel'
  | 'InvokeModelWithResponseStream'
  | 'InvokeModelWithBidirectionalStream';

/** How an operation delivers usage. */
export type UsageDelivery = 'converse' | 'converse-stream' | 'invoke' | 'invoke-stream' | 'bidi-stream';

export interface OperationInfo {
  readonly operation: BedrockOperation;
  readonly delivery: UsageDelivery;
  readonly streaming: boolean;
}

/**
 * Operations that bill tokens, keyed by SDK command name. Everything else (CountTokens, async
 * invoke management, guardrails) passes through the plugin untouched.
 */
export const METERED_OPERATIONS: Readonly<Record<string, OperationInfo>> = {
  ConverseCommand: { operation: 'Converse', delivery: 'converse', streaming: false },
  ConverseStreamCommand: { operation: 'ConverseStream', delivery: 'converse-stream', streaming: true },
  InvokeModelCommand: { operation: 'InvokeModel', delivery: 'invoke', streaming: false },
  InvokeModelWithResponseStreamCommand: {
    operation: 'InvokeModelWithResponseStream',
    delivery: 'invoke-stream',
    streaming: true,
  },
  InvokeModelWithBidirectionalStreamCommand: {
    operation: 'InvokeModelWithBidirectionalStream',
    delivery: 'bidi-stream',
    streaming: true,
  },
};

/** The metered operation for an SDK command name, if it is one. */
export function meteredOperation(commandName: unknown): OperationInfo | undefined {
  return typeof commandName === 'string' && Object.hasOwn(METERED_OPERATIONS, commandName) ? METERED_OPERATIONS[commandName] : undefined;
}
