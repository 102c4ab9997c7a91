/**
 * Budgets shared by every process through Redis: two "hosts" (two plugin instances, as if in two
 * processes) draw on one team budget kept in a local redis-server.
 *
 *   redis-server --port 6379 &      # or any Redis / Valkey / ElastiCache
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis-budgets.ts
 *
 * Without a reachable Redis it says so in one line and exits with status 1.
 */
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { Redis } from 'ioredis';
import { bedrockFinOps, isBudgetExceededError, withAttribution, type BedrockFinOps } from 'bedrock-finops';
import { RedisBudgetStore } from 'bedrock-finops/redis';
import { startBedrockSimulator } from 'bedrock-finops/testing';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(url, { lazyConnect: true });
// ioredis reconnects on its own and emits 'error' at every failed attempt; with no listener each
// one is printed as an unhandled error event. Say it once per outage: the budget store rides the
// outage out by itself (onStoreError, buffered commits).
let connected = false;
let outage = false;
let lastError = '';
redis.on('error', (e: Error) => {
  lastError = e.message;
  if (connected && !outage) console.error(`redis: ${e.message} (reconnecting; budgets follow onStoreError meanwhile)`);
  outage = true;
});
redis.on('ready', () => (outage = false));
try {
  await redis.connect();
  connected = true;
} catch (e) {
  console.error(`Cannot reach Redis at ${url} (${lastError || (e instanceof Error ? e.message : String(e))}): start one with \`redis-server --port 6379\` or set REDIS_URL.`);
  redis.disconnect();
  process.exit(1);
}
const sim = await startBedrockSimulator();
const run = `example-${Date.now()}`; // a fresh budget namespace per run

function host(name: string): { finops: BedrockFinOps; client: BedrockRuntimeClient } {
  const finops = bedrockFinOps({
    attribution: { host: name },
    budgetStore: new RedisBudgetStore({ client: redis, keyPrefix: `${run}:budgets:` }),
    budgets: [{ name: 'search-hourly', match: { team: 'search' }, limit: { tokens: 2_000 }, window: 'hour', alertAt: [0.5, 0.9] }],
    onBudgetEvent: (e) => console.log(`  [${name}] budget ${e.type}: ${e.budget} ${e.used}/${e.limit}${e.threshold === undefined ? '' : ` (crossed ${e.threshold * 100}%)`}`),
  });
  const client = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  client.middlewareStack.use(finops);
  return { finops, client };
}

const hosts = [host('host-a'), host('host-b')];
let admitted = 0;
let rejected = 0;
for (let i = 0; i < 40; i++) {
  const { client } = hosts[i % 2]!;
  try {
    await withAttribution({ team: 'search' }, () =>
      client.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'find running shoes' }] }], inferenceConfig: { maxTokens: 64 } })),
    );
    admitted++;
  } catch (e) {
    if (!isBudgetExceededError(e)) throw e;
    rejected++;
  }
}
const [status] = await hosts[0]!.finops.budgets.status();
console.log(JSON.stringify({ admitted, rejected, used: status?.used.tokens, limit: status?.limit.tokens }));
for (const h of hosts) await h.finops.shutdown();
await sim.close();
await redis.quit();
