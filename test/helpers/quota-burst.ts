import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { bedrockFinOps, isQuotaExceededError, withAttribution, type BedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { heuristicInputTokens } from '../../src/budgets/index.js';
import { SimulatorEngine, simulatorRequestHandler, tokensOfText, type BedrockSimulatorOptions } from '../../src/testing/index.js';

/** A Claude 4 class model: its output burns 5 quota tokens per token. */
export const SONNET = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
export const PROMPT = 'Summarise the attached ticket in one line, please. '.repeat(2);
export const MAX_TOKENS = 200;
/** What the simulator reserves for one burst call: its input (4 chars a token, 3 per message) + max tokens × 5. */
export const SIM_NEED = tokensOfText(PROMPT) + 3 + MAX_TOKENS * 5;
/** What the governor holds for one burst call: the heuristic input estimate (a little more than the simulator counts) + max tokens × 5. */
export const GOVERNOR_NEED = heuristicInputTokens('Converse', { messages: [{ role: 'user', content: [{ text: PROMPT }] }] }) + MAX_TOKENS * 5;

/** How a burst went. */
export interface BurstResult {
  readonly served: number;
  readonly refused: number;
  readonly throttled: number;
  readonly failed: number;
  readonly records: UsageRecord[];
}

/** A simulator enforcing an on-demand quota the way Bedrock does; output = max tokens, so a call is charged what it reserved. */
export function quotaSimulator(tokensPerMinute: number, windowMs: number, more: BedrockSimulatorOptions = {}): SimulatorEngine {
  return new SimulatorEngine({ onDemandQuota: { tokensPerMinute, windowMs }, outputTokens: MAX_TOKENS, ...more });
}

/** A real client answered in-process by `engine`, with `options` as the plugin (none: no governor). SDK retries off, so a 429 shows as one. */
export function quotaClient(engine: SimulatorEngine, options: BedrockFinOpsOptions | undefined): { client: BedrockRuntimeClient; finops: BedrockFinOps | undefined; records: UsageRecord[] } {
  const records: UsageRecord[] = [];
  const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, requestHandler: simulatorRequestHandler(engine), maxAttempts: 1 });
  const finops = options === undefined ? undefined : bedrockFinOps({ ...options, onUsage: (r) => records.push(r) });
  if (finops !== undefined) client.middlewareStack.use(finops);
  return { client, finops, records };
}

/** One burst call; `team` attributes it. */
export function burstCall(client: BedrockRuntimeClient, team = 'search', modelId = SONNET): Promise<unknown> {
  return withAttribution({ team }, () => client.send(new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: PROMPT }] }], inferenceConfig: { maxTokens: MAX_TOKENS } })));
}

/** `n` calls at once; counts how each ended. */
export async function burst(n: number, call: () => Promise<unknown>): Promise<Omit<BurstResult, 'records'>> {
  const outcomes = await Promise.allSettled(Array.from({ length: n }, call));
  const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
  const refused = errors.filter(isQuotaExceededError).length;
  const throttled = errors.filter((e) => (e as { name?: unknown }).name === 'ThrottlingException').length;
  return { served: n - errors.length, refused, throttled, failed: errors.length - refused - throttled };
}

/** Keeps `workers` calls in flight until `until` (epoch ms); when each served call ended (epoch ms). */
export async function sustain(workers: number, until: number, call: () => Promise<unknown>): Promise<number[]> {
  const served: number[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < until) {
        try {
          await call();
          served.push(Date.now());
        } catch (e) {
          if (!isQuotaExceededError(e)) throw e;
        }
      }
    }),
  );
  return served;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A `fetch` answered by the simulator engine in-process (any host), for the plugin's fetch path. */
export function simulatorFetch(engine: SimulatorEngine): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const sim = await engine.handle({ method: request.method, path: url.pathname, body: new Uint8Array(await request.arrayBuffer()) });
    const body = sim.body instanceof Uint8Array ? sim.body : ReadableStream.from(sim.body);
    return new Response(body, { status: sim.status, headers: sim.headers });
  };
}
