import { invokeOperationName, type GenAiOperationName } from './gen-ai-operation.js';
import { parseModelId, type ModelRef } from './model-id.js';

/** A model id resolved once, with everything the hot path needs about it. */
export interface ResolvedModel<P = unknown> {
  readonly ref: ModelRef;
  /** The id to price and extract as: a `models` / `provisioned` mapping target, else the id itself. */
  readonly pricedAs: string;
  /** The foundation model behind it, when known. */
  readonly baseModelId: string | undefined;
  /** Its provider (`anthropic`, `amazon`, …), when known. */
  readonly provider: string | undefined;
  /** `gen_ai.operation.name` of an InvokeModel call to it (Converse is always `chat`). */
  readonly invokeOperation: GenAiOperationName;
  /** What the price lookup returned for `pricedAs` (resolved once, here). */
  readonly price: P;
}

const MAX_CACHED = 2048;

/** What an id is priced as without a mapping: the profile id for profile ARNs, the base id for model ARNs. */
function defaultPricedAs(ref: ModelRef): string {
  if (ref.baseModelId === undefined) return ref.id;
  if (ref.kind === 'inference-profile' && ref.geography !== undefined) return `${ref.geography}.${ref.baseModelId}`;
  return ref.baseModelId;
}

/**
 * Resolves model ids to {@link ResolvedModel}s once and caches them; callers pass ids from
 * requests, so the cache is bounded (cleared when full, which only costs re-resolution).
 */
export class ModelResolver<P> {
  private readonly cache = new Map<string, ResolvedModel<P>>();

  constructor(
    private readonly aliases: ReadonlyMap<string, string>,
    private readonly lookupPrice: (pricedAs: string, target: ModelRef, at: Date) => P,
  ) {}

  private validUntil = 0;

  /** Resolves `id`; `now` (epoch ms) re-resolves everything once per UTC day, as catalog prices are dated. */
  resolve(id: string, now: number): ResolvedModel<P> {
    if (now >= this.validUntil) {
      this.cache.clear();
      this.validUntil = (Math.floor(now / 86_400_000) + 1) * 86_400_000;
    }
    const hit = this.cache.get(id);
    if (hit !== undefined) return hit;
    const resolved = this.build(id, now);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(id, resolved);
    return resolved;
  }

  private build(id: string, now: number): ResolvedModel<P> {
    const ref = parseModelId(id);
    const alias = this.aliases.get(id);
    const target = alias === undefined ? ref : parseModelId(alias);
    const pricedAs = alias ?? defaultPricedAs(ref);
    const base = target.baseModelId;
    return {
      ref,
      pricedAs,
      baseModelId: base,
      provider: target.provider,
      invokeOperation: invokeOperationName(base),
      price: this.lookupPrice(pricedAs, target, new Date(now)),
    };
  }
}
