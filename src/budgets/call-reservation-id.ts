import { randomBytes } from 'node:crypto';

// A random 128-bit prefix per process and a counter: collision-free across processes (as a UUID
// per call would be) without drawing randomness per call.
const ID_PREFIX = randomBytes(16).toString('base64url');
let idCounter = 0;

/** A new reservation id: a per-process random 128-bit prefix and a counter, so a re-sent store request is recognised. */
export function nextReservationId(): string {
  return `${ID_PREFIX}:${(++idCounter).toString(36)}`;
}
