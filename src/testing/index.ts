export {
  encodeEventStream,
  encodeEventStreamMessage,
  converseStreamEvent,
  invokeStreamChunk,
  streamException,
  decodeEventStream,
  decodeEventStreamMessage,
} from './event-stream.js';
export type { EventStreamMessage, DecodedEventStreamMessage } from './event-stream.js';
export { startBedrockSimulator } from './simulator/server.js';
export type { BedrockSimulator } from './simulator/server.js';
export { SimulatorEngine } from './simulator/engine.js';
export type { BedrockSimulatorOptions, SimRequest, SimulatorModelStats, SimulatorStats } from './simulator/types.js';
export type { SimulatorCapacity } from './simulator/capacity.js';
export type { SimulatorQuota } from './simulator/quota.js';
export type { SimResponse } from './simulator/responses.js';
export { simulatorRequestHandler } from './simulator/in-process-handler.js';
export type { SimulatorRequestHandler } from './simulator/in-process-handler.js';
export { tokensOfText } from './simulator/tokens.js';
