/**
 * One part of a composite map key that cannot run into the next: its length, then itself.
 * Attribution values and model ids are untrusted and may hold any character, so joining parts
 * with a separator would let a crafted value make two keys alike (`{ team: 'x\u0002b\u0001y' }`
 * passing for `{ team: 'x', b: 'y' }`). The last part of a key needs no prefix.
 */
export function keyPart(s: string): string {
  return `${s.length}:${s}`;
}
