import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { AIMessageChunk } from '@langchain/core/messages';
import { ChatBedrockConverse } from '@langchain/aws';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, BudgetExceededError, withAttribution, type BedrockFinOpsOptions } from '../../src/index.js';
import { startBedrockSimulator, type BedrockSimulator } from '../../src/testing/index.js';
import { recorder } from '../helpers/bedrock.js';

const NOVA = 'us.amazon.nova-micro-v1:0';

/** A message's usage metadata (LangChain's message types infer it as `never` under this strict tsconfig). */
function usageOf(message: unknown): { input_tokens: number; output_tokens: number } | undefined {
  return (message as { usage_metadata?: { input_tokens: number; output_tokens: number } } | undefined)?.usage_metadata;
}

let sim: BedrockSimulator;
beforeAll(async () => {
  sim = await startBedrockSimulator();
});
afterAll(async () => {
  await sim.close();
});

function setup(options: BedrockFinOpsOptions = {}) {
  const { records, onUsage } = recorder();
  const finops = bedrockFinOps({ attribution: { team: 'support' }, ...options, onUsage });
  const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: sim.url, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: new NodeHttpHandler() });
  client.middlewareStack.use(finops);
  // @langchain/aws asks for a region even when it is handed a client.
  const model = new ChatBedrockConverse({ client, region: 'us-east-1', model: NOVA, maxTokens: 24 });
  return { model, records };
}

describe('LangChain ChatBedrockConverse with a client that carries the plugin', () => {
  it('invoke: one Converse record with the tokens LangChain reports, attributed from withAttribution', async () => {
    const { model, records } = setup();
    const message = await withAttribution({ feature: 'triage' }, () => model.invoke('Classify this ticket'));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      operation: 'Converse',
      modelId: NOVA,
      attribution: { team: 'support', feature: 'triage' },
      inputTokens: usageOf(message)?.input_tokens,
      outputTokens: usageOf(message)?.output_tokens,
      outcome: 'success',
    });
    expect(records[0]!.outputTokens).toBe(24);
    expect(records[0]!.costUsd).toBeGreaterThan(0);
  });

  it('stream: one ConverseStream record once the stream ends, with the tokens of its final chunk', async () => {
    const { model, records } = setup();
    let last: AIMessageChunk | undefined;
    for await (const chunk of await model.stream('Draft a reply')) last = last === undefined ? chunk : last.concat(chunk);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ operation: 'ConverseStream', inputTokens: usageOf(last)?.input_tokens, outputTokens: 24, usageSource: 'usage' });
  });

  it('refuses a call over budget before the simulator sees it', async () => {
    const { model, records } = setup({ estimator: () => 10, budgets: [{ name: 'support-daily', match: { team: 'support' }, limit: { tokens: 20 }, window: 'day' }] });
    const before = sim.stats.requests;
    await expect(model.invoke('hello')).rejects.toBeInstanceOf(BudgetExceededError);
    expect(sim.stats.requests).toBe(before);
    expect(records).toEqual([]);
  });
});

describe('the LangChain example', () => {
  it('runs against the simulator and prints one attributed record per call', () => {
    const root = resolve(import.meta.dirname, '../..');
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'examples/langchain.ts')], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { operation: string; attribution: unknown; output: number });
    expect(lines.map((l) => l.operation)).toEqual(['Converse', 'ConverseStream']);
    expect(lines.every((l) => l.output === 32)).toBe(true);
    expect(lines.map((l) => l.attribution)).toEqual([
      { team: 'support', feature: 'triage' },
      { team: 'support', feature: 'triage' },
    ]);
  });
});
