import { hashedPart } from './keys.js';

const SLOTS = 16384;

/** CRC16-CCITT (XModem) table, as Redis Cluster uses it. */
const TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  return crc;
});

/** The Redis Cluster slot of `key` (CRC16 of its hashed part, over its UTF-8 bytes, mod 16384). */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashedPart(key), 'utf8')) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc % SLOTS;
}

/**
 * The node serving a slot, read from the cluster client's own slots table at each call (it
 * follows failovers and resharding): ioredis `Cluster#slots` (`slot → ['host:port', …]`, the
 * master first) or node-redis `cluster.slots` (`slot → { master: { address } }`). `undefined`
 * when the client exposes neither (or has not loaded the table yet).
 */
export function slotOwner(client: unknown): ((slot: number) => string | undefined) | undefined {
  const c = client as { slots?: unknown } | null;
  if (c === null || typeof c !== 'object') return undefined;
  // node-redis's cluster has a `slots` getter; reading it once tells the shape, not the contents (re-read per call).
  if (!Array.isArray(c.slots)) return undefined;
  return (slot) => {
    const entry: unknown = (c.slots as unknown[])[slot];
    if (Array.isArray(entry)) return typeof entry[0] === 'string' ? entry[0] : undefined;
    const address = (entry as { master?: { address?: unknown } } | undefined)?.master?.address;
    return typeof address === 'string' ? address : undefined;
  };
}
