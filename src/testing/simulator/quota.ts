import { compileGlobs } from '../../budgets/glob.js';
import { outputBurndown } from '../../quotas/burndown.js';
import { parseModelId } from '../../model/model-id.js';
import { WindowUse } from '../../quotas/window-use.js';

/**
 * An on-demand quota the simulator enforces the way Bedrock counts it: a request reserves its
 * whole prompt plus its max tokens × the model's output burndown when it starts, is charged
 * input + cache writes + output × burndown when it ends (the rest released), and is answered
 * 429 `ThrottlingException` when its reservation does not fit beside what is in use (reserved by
 * requests in flight plus charged in the last window). Each model has one quota per pool:
 * in-region ids, geographic profiles (`us.`, `eu.`…) and `global.` profiles are counted apart, as
 * Bedrock keeps separate quotas for them.
 */
export interface SimulatorQuota {
  /** Quota tokens per window. */
  readonly tokensPerMinute: number;
  /** The sliding window, in ms. @defaultValue `60000` */
  readonly windowMs?: number;
  /** Quota tokens per output token. @defaultValue the library's burndown table (5 for Claude 4 class models, else 1) */
  readonly burndown?: number;
  /** Output tokens reserved for a request that sets no max tokens (Bedrock reserves the model's maximum). @defaultValue `4096` */
  readonly defaultMaxTokens?: number;
  /** The base models it applies to (globs). @defaultValue every model */
  readonly models?: string | readonly string[];
}

/** A request holding quota until it ends. */
export interface QuotaReservation {
  /** Ends the request: charges `input + cacheWrite + output × burndown`, releases the rest. */
  end(usage: { readonly input: number; readonly cacheWrite: number; readonly output: number }): void;
}

/** The simulator's on-demand quotas, one per model and pool. */
export class SimulatorQuotas {
  private readonly uses = new Map<string, WindowUse>();
  /** The most quota in use seen at any admission (reservations in flight plus the window). */
  peak = 0;

  private readonly applies: (base: string) => boolean;

  constructor(
    private readonly quota: SimulatorQuota,
    private readonly now: () => number,
  ) {
    this.applies = quota.models === undefined ? () => true : compileGlobs(quota.models);
  }

  private keyOf(modelId: string, base: string): string | undefined {
    const ref = parseModelId(modelId);
    if (ref.kind === 'provisioned-model' || !this.applies(base)) return undefined;
    const pool = ref.kind === 'inference-profile' ? (ref.geography === 'global' ? 'global' : 'cross-region') : 'in-region';
    return `${pool}\u0001${base}`;
  }

  /** Starts a request: its reservation, `'throttled'` when it does not fit, `undefined` when no quota applies. */
  begin(modelId: string, base: string, inputTokens: number, maxTokens: number | undefined): QuotaReservation | 'throttled' | undefined {
    const key = this.keyOf(modelId, base);
    if (key === undefined) return undefined;
    let use = this.uses.get(key);
    if (use === undefined) {
      use = new WindowUse();
      this.uses.set(key, use);
    }
    const window = this.quota.windowMs ?? 60_000;
    const burndown = this.quota.burndown ?? outputBurndown(base);
    const reserve = { tokens: inputTokens + (maxTokens ?? this.quota.defaultMaxTokens ?? 4_096) * burndown, requests: 0 };
    const inUse = use.use(this.now(), window).tokens;
    if (inUse + reserve.tokens > this.quota.tokensPerMinute) return 'throttled';
    use.hold(reserve, this.now());
    this.peak = Math.max(this.peak, inUse + reserve.tokens);
    const held = use;
    let ended = false;
    return {
      end: (u) => {
        if (ended) return;
        ended = true;
        held.settle(reserve, { tokens: u.input + u.cacheWrite + u.output * burndown, requests: 0 }, this.now());
      },
    };
  }
}
