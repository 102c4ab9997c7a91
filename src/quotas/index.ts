// `bedrock-finops/quotas`: the extension points of quotas — the store interface, the in-memory
// and Redis stores, Bedrock's quota arithmetic and burndown table, and the types quotas are built from.
export type { QuotaRule, QuotaShares, QuotaOnLimit } from './config.js';
export type { QuotaMatch, QuotaPool } from './match.js';
export type { QuotaAmount } from './amount.js';
export type { QuotaStore, QuotaSpec, HoldRequest, HoldResult, SettleRequest, QuotaUse, QuotaStoreStats } from './store.js';
export type { QuotaStatus } from './quotas.js';
export type { QuotaExceededDetails } from '../errors/quota-exceeded-error.js';
export { MemoryQuotaStore } from './memory-store.js';
export { RedisQuotaStore } from './redis/redis-quota-store.js';
export type { RedisQuotaStoreOptions } from './redis/options.js';
export { BURNDOWN_TABLE, outputBurndown } from './burndown.js';
export type { BurndownEntry } from './burndown.js';
export { quotaNeed, quotaCharge } from './arithmetic.js';
