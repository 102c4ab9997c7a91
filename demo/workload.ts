import {
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  type BedrockRuntimeClient,
} from '@aws-sdk/client-bedrock-runtime';

/** The provisioned model the demo saturates (the simulator gives it a small capacity). */
export const PROVISIONED_ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/demo0support';

const say = (text: string) => [{ role: 'user' as const, content: [{ text }] }];

async function drain(stream: AsyncIterable<unknown> | undefined): Promise<void> {
  for await (const _ of stream ?? []) {
    /* a UI would render each event */
  }
}

/** One kind of call a team makes: its feature name, weight in the mix, and how to make it. */
export interface Task {
  readonly team: string;
  readonly feature: string;
  readonly weight: number;
  /** More attribution for this task's calls. */
  readonly attribution?: Readonly<Record<string, string>>;
  run(client: BedrockRuntimeClient, live: boolean): Promise<unknown>;
}

/**
 * A realistic mix for three teams: chat and autocomplete (Converse, ConverseStream), support
 * triage and replies (InvokeModel, a provisioned model that saturates), ads copy and embeddings.
 * `live` keeps token caps small for real Bedrock.
 */
export const TASKS: readonly Task[] = [
  {
    team: 'search',
    feature: 'autocomplete',
    weight: 6,
    run: (c) => c.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages: say('Complete the query: best trail running'), inferenceConfig: { maxTokens: 16 } })),
  },
  {
    team: 'search',
    feature: 'answers',
    weight: 3,
    run: async (c, live) => {
      const out = await c.send(
        new ConverseStreamCommand({
          modelId: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
          system: [{ text: 'You answer shopping questions from product pages. '.repeat(live ? 2 : 30) }, { cachePoint: { type: 'default' } }],
          messages: say('Which of these shoes is best for wet trails? '.repeat(live ? 1 : 8)),
          inferenceConfig: { maxTokens: live ? 64 : 400 },
        }),
      );
      await drain(out.stream);
    },
  },
  {
    team: 'support',
    feature: 'triage',
    weight: 5,
    run: (c, live) =>
      c.send(
        new ConverseCommand({
          modelId: PROVISIONED_ARN,
          messages: say('Classify this ticket (billing, shipping, product): my invoice shows the wrong address. '.repeat(live ? 1 : 6)),
          inferenceConfig: { maxTokens: 24 },
        }),
      ),
  },
  {
    team: 'support',
    feature: 'reply',
    weight: 3,
    run: async (c, live) => {
      const out = await c.send(
        new InvokeModelWithResponseStreamCommand({
          modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
          body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: live ? 64 : 300, messages: say('Draft a polite reply about the invoice address. '.repeat(live ? 1 : 12)) }),
        }),
      );
      await drain(out.body);
    },
  },
  {
    team: 'ads',
    feature: 'copy',
    weight: 3,
    run: (c, live) =>
      c.send(
        new InvokeModelCommand({
          modelId: 'meta.llama3-1-70b-instruct-v1:0',
          body: JSON.stringify({ prompt: 'Write three headlines for waterproof trail shoes.', max_gen_len: live ? 48 : 200 }),
        }),
      ),
  },
  {
    team: 'ads',
    feature: 'embeddings',
    weight: 4,
    // A nightly indexing job: nobody waits for it, so it is a batch-inference candidate.
    attribution: { interactive: 'false' },
    run: (c) => c.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', body: JSON.stringify({ inputText: 'waterproof trail running shoes for wet terrain' }) })),
  },
];

/** A deterministic weighted sequence of `n` tasks (the same run every time). */
export function schedule(n: number): Task[] {
  const bag: Task[] = [];
  for (const t of TASKS) for (let i = 0; i < t.weight; i++) bag.push(t);
  const out: Task[] = [];
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(bag[(x >>> 16) % bag.length] ?? (TASKS[0] as Task));
  }
  return out;
}
