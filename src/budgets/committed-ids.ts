/** How many committed reservation ids a store remembers, to recognise a repeated commit. */
export const IDS_KEPT = 10_000;

/**
 * Ids of the last 10,000 committed reservations, in a bounded ring, so a repeated commit (or a
 * reserve re-sent after its commit) is recognised and changes nothing. Memory: about 100 bytes
 * per id kept, whatever the call rate.
 */
export class CommittedIds {
  private readonly done = new Set<string>();
  private readonly ring: (string | undefined)[] = new Array<string | undefined>(IDS_KEPT);
  private index = 0;

  add(id: string): void {
    const evicted = this.ring[this.index];
    if (evicted !== undefined) this.done.delete(evicted);
    this.ring[this.index] = id;
    this.index = (this.index + 1) % IDS_KEPT;
    this.done.add(id);
  }

  has(id: string): boolean {
    return this.done.has(id);
  }
}
