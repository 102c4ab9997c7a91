// `bedrock-finops/redis`: budgets shared by every process that points at one Redis.
export { RedisBudgetStore } from './redis-budget-store.js';
export type { RedisBudgetStoreOptions } from './options.js';
export type { RedisClientLike, IoRedisLike, NodeRedisLike } from './redis-client.js';
