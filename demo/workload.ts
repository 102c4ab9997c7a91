import {
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  type BedrockRuntimeClient,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';

/**
 * The provisioned model the demo saturates (the simulator gives it `tokensPerMinutePerUnit`
 * tokens a minute), with what a FinOps report needs to judge the commitment.
 */
export const PROVISIONED = {
  arn: 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/demo0support',
  model: 'anthropic.claude-3-haiku-20240307-v1:0',
  fallback: 'us.anthropic.claude-3-haiku-20240307-v1:0',
  modelUnits: 1,
  /** A one-month commitment for one model unit, per hour (illustrative). */
  hourlyCostUsd: 21,
  tokensPerMinutePerUnit: 6_000,
} as const;

/** Where a call sits in the run, and a deterministic random source for it. */
export interface Step {
  /** 0 at the first call of the run, 1 at the last. */
  readonly progress: number;
  /** A number in [0, 1), the same for the same call of every run. */
  readonly random: () => number;
}

/** One kind of call a team makes: its feature name, weight in the mix, and how to make it. */
export interface Task {
  readonly team: string;
  readonly feature: string;
  readonly weight: number;
  /** More attribution for this task's calls. */
  readonly attribution?: Readonly<Record<string, string>>;
  run(client: BedrockRuntimeClient, live: boolean, step: Step): Promise<unknown>;
}

const say = (text: string): Message[] => [{ role: 'user', content: [{ text }] }];

async function drain(stream: AsyncIterable<unknown> | undefined): Promise<void> {
  for await (const _ of stream ?? []) {
    /* a UI would render each event */
  }
}

/** `base` repeated a varying number of times: most calls short, a long tail (P95/P99 ≫ P50). */
function sized(base: string, random: () => number, typical: number): string {
  const r = random();
  const times = r > 0.97 ? typical * 8 : r > 0.9 ? typical * 3 : 1 + Math.floor(random() * typical);
  return base.repeat(times);
}

/** A shopping-assistant conversation that grows as the run goes on (context inflation). */
function conversation(step: Step, live: boolean): Message[] {
  const turns = live ? 1 : 1 + Math.floor(step.progress * 10 + step.random() * 2);
  const history: Message[] = [];
  for (let i = 1; i < turns; i++) {
    history.push({ role: 'user', content: [{ text: `Question ${i}: how do these shoes handle ${i % 2 === 0 ? 'mud' : 'rain'} on long runs? ` }] });
    history.push({ role: 'assistant', content: [{ text: `Answer ${i}: the lugged outsole and the membrane keep them dry and steady for most runners. `.repeat(2) }] });
  }
  return [...history, ...say(`Which of these shoes is best for wet trails? ${sized('Compare grip and weight. ', step.random, 3)}`)];
}

/**
 * A realistic mix for three teams: chat and autocomplete (Converse, ConverseStream), a query
 * classifier on a large model (a right-sizing candidate), support triage on a provisioned model
 * that saturates and replies (InvokeModelWithResponseStream), nightly ad copy and embeddings
 * (non-interactive: batch candidates). `live` keeps token caps small for real Bedrock.
 */
export const TASKS: readonly Task[] = [
  {
    team: 'search',
    feature: 'autocomplete',
    weight: 6,
    run: (c, _live, s) => c.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages: say(`Complete the query: ${sized('best trail running ', s.random, 2)}`), inferenceConfig: { maxTokens: 16 } })),
  },
  {
    team: 'search',
    feature: 'answers',
    weight: 3,
    run: async (c, live, s) => {
      const out = await c.send(
        new ConverseStreamCommand({
          modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
          system: [{ text: 'You answer shopping questions from product pages. '.repeat(live ? 2 : 30) }, { cachePoint: { type: 'default' } }],
          messages: conversation(s, live),
          inferenceConfig: { maxTokens: live ? 64 : 400 },
        }),
      );
      await drain(out.stream);
    },
  },
  {
    team: 'search',
    feature: 'intent',
    weight: 3,
    // A one-word classification on a frontier model: the report suggests a smaller tier.
    run: (c, _live, s) =>
      c.send(
        new ConverseCommand({
          modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
          system: [{ text: 'Classify the shopping query as one of: navigational, informational, transactional. Answer with one word.' }],
          messages: say(sized('waterproof trail shoes size 44 under 150 euros ', s.random, 3)),
          inferenceConfig: { maxTokens: 8 },
        }),
      ),
  },
  {
    team: 'support',
    feature: 'triage',
    weight: 5,
    run: (c, live, s) =>
      c.send(new ConverseCommand({ modelId: PROVISIONED.arn, messages: say(`Classify this ticket (billing, shipping, product): ${sized('my invoice shows the wrong address. ', s.random, live ? 1 : 6)}`), inferenceConfig: { maxTokens: 24 } })),
  },
  {
    team: 'support',
    feature: 'reply',
    weight: 3,
    run: async (c, live, s) => {
      const out = await c.send(
        new InvokeModelWithResponseStreamCommand({
          modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
          body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: live ? 64 : 300, messages: say(`Draft a polite reply about the invoice address. ${sized('The customer wrote: I moved last month. ', s.random, live ? 1 : 8)}`) }),
        }),
      );
      await drain(out.body);
    },
  },
  {
    team: 'ads',
    feature: 'copy',
    weight: 3,
    // Generated overnight for the next day's campaigns: nobody waits for it.
    attribution: { batch: 'true' },
    run: (c, live, s) =>
      c.send(new InvokeModelCommand({ modelId: 'meta.llama3-1-70b-instruct-v1:0', body: JSON.stringify({ prompt: `Write three headlines for ${sized('waterproof ', s.random, 2)}trail shoes.`, max_gen_len: live ? 48 : 200 }) })),
  },
  {
    team: 'ads',
    feature: 'embeddings',
    weight: 4,
    // A nightly indexing job: a batch-inference candidate.
    attribution: { interactive: 'false' },
    run: (c, _live, s) => c.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', body: JSON.stringify({ inputText: sized('waterproof trail running shoes for wet terrain ', s.random, 4) }) })),
  },
];

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32): the same run every time. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic weighted sequence of `n` calls, each with its place in the run. */
export function schedule(n: number): { task: Task; step: Step }[] {
  const bag: Task[] = [];
  for (const t of TASKS) for (let i = 0; i < t.weight; i++) bag.push(t);
  const pick = seeded(7);
  return Array.from({ length: n }, (_, i) => ({
    task: bag[Math.floor(pick() * bag.length)] ?? (TASKS[0] as Task),
    step: { progress: n <= 1 ? 0 : i / (n - 1), random: seeded(1_000 + i) },
  }));
}
