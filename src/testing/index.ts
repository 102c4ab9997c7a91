export {
  encodeEventStream,
  encodeEventStreamMessage,
  converseStreamEvent,
  invokeStreamChunk,
  streamException,
} from './event-stream.js';
export type { EventStreamMessage } from './event-stream.js';
export { startBedrockSimulator } from './simulator/server.js';
export type { BedrockSimulator } from './simulator/server.js';
export { SimulatorEngine } from './simulator/engine.js';
export type {
  BedrockSimulatorOptions,
  SimulatorCapacity,
  SimulatorStats,
  SimulatorModelStats,
  SimRequest,
  SimResponse,
} from './simulator/engine.js';
export { simulatorRequestHandler } from './simulator/in-process-handler.js';
export type { SimulatorRequestHandler } from './simulator/in-process-handler.js';
export { tokensOfText } from './simulator/tokens.js';
