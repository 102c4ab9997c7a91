const BUCKETS = 60;

/** Tokens served per provisioned ARN over the last minute, in one-second buckets. */
export class Utilization {
  private readonly series = new Map<string, { readonly tokens: number[]; readonly seconds: number[] }>();

  add(arn: string, tokens: number, now: number): void {
    let s = this.series.get(arn);
    if (s === undefined) {
      s = { tokens: new Array<number>(BUCKETS).fill(0), seconds: new Array<number>(BUCKETS).fill(-1) };
      this.series.set(arn, s);
    }
    const second = Math.floor(now / 1000);
    const i = second % BUCKETS;
    if (s.seconds[i] !== second) {
      s.seconds[i] = second;
      s.tokens[i] = 0;
    }
    s.tokens[i] = (s.tokens[i] ?? 0) + tokens;
  }

  /** Tokens sent to `arn` in the 60 seconds up to `now`. */
  tokensPerMinute(arn: string, now: number): number {
    const s = this.series.get(arn);
    if (s === undefined) return 0;
    const second = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const at = s.seconds[i] ?? -1;
      if (at > second - BUCKETS && at <= second) total += s.tokens[i] ?? 0;
    }
    return total;
  }
}
