/** One team's standing in a shared quota, in one field (tokens or requests). */
export interface ShareView {
  readonly team: string;
  readonly weight: number;
  /** In flight plus charged in the window. */
  readonly use: number;
}

/**
 * Each active team's guaranteed part of `limit`: its weight's share among the active teams,
 * at least `floor × limit`, scaled down together if the floors ask for more than the limit.
 */
export function guarantees(limit: number, floor: number, teams: readonly ShareView[]): number[] {
  const total = teams.reduce((s, t) => s + t.weight, 0);
  const raw = teams.map((t) => Math.max(total > 0 ? (limit * t.weight) / total : 0, floor * limit));
  const sum = raw.reduce((s, g) => s + g, 0);
  return sum > limit ? raw.map((g) => (g * limit) / sum) : raw;
}

/**
 * The most `self` may add now: never past the limit, and beyond its own guaranteed part only
 * what leaves every other active team's unused guarantee free. Idle teams (not in `others`)
 * guarantee nothing, so their parts are borrowed; once a team is active again, borrowers get no
 * more room until its part is free, and the room they borrowed returns as their charges leave
 * the window.
 */
export function shareRoom(limit: number, floor: number, self: ShareView, others: readonly ShareView[]): number {
  if (limit === Infinity) return Infinity;
  // Alone (or not shared): everything not in use.
  if (others.length === 0) return Math.max(0, Math.floor(limit - self.use));
  const g = guarantees(limit, floor, [self, ...others]);
  let used = self.use;
  let unmet = 0;
  others.forEach((o, i) => {
    used += o.use;
    unmet += Math.max(0, (g[i + 1] ?? 0) - o.use);
  });
  const free = limit - used;
  const own = Math.max(0, (g[0] ?? 0) - self.use);
  const room = Math.floor(Math.min(free, Math.max(own, free - unmet)));
  // Fail closed: arithmetic that went NaN (it compares as "fits") gives no room.
  return room > 0 ? room : 0;
}
