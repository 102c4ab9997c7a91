export {
  encodeEventStream,
  encodeEventStreamMessage,
  converseStreamEvent,
  invokeStreamChunk,
  streamException,
} from './event-stream.js';
export type { EventStreamMessage } from './event-stream.js';
