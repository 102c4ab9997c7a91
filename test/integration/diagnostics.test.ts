import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps } from '../../src/index.js';
import { makeClient, mockBedrock, on, recorder, converseReply } from '../helpers/bedrock.js';

const server = mockBedrock();
const messages: string[] = [];
const logger: DiagLogger = {
  error: (m) => messages.push(`error ${m}`),
  warn: (m) => messages.push(`warn ${m}`),
  info: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};
beforeAll(() => {
  server.listen({ onUnhandledRequest: 'error' });
  diag.setLogger(logger, DiagLogLevel.WARN);
});
afterEach(() => {
  server.resetHandlers();
  messages.length = 0;
});
afterAll(() => {
  server.close();
  diag.disable();
});

describe('diagnostics', () => {
  it('reports a response without usage once per model, not once per call, and never its content', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => converseReply(null, 'SECRET COMPLETION')));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const input = { modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'SECRET PROMPT' }] }] };
    for (let i = 0; i < 5; i++) await client.send(new ConverseCommand(input));
    expect(records).toHaveLength(5);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('no usage');
    expect(messages.join()).not.toContain('SECRET');
  });

  it('reports an unknown model id once and still meters it', async () => {
    const { records, onUsage } = recorder();
    server.use(on('converse', () => converseReply({ inputTokens: 3, outputTokens: 4 }, '')));
    const client = makeClient(bedrockFinOps({ onUsage }));
    const input = { modelId: 'my-weird-model', messages: [{ role: 'user' as const, content: [{ text: 'x' }] }] };
    await client.send(new ConverseCommand(input));
    await client.send(new ConverseCommand(input));
    expect(records.map((r) => [r.modelKind, r.inputTokens])).toEqual([
      ['unknown', 3],
      ['unknown', 3],
    ]);
    // One diagnostic per kind per model id, not one per call: the unknown id, and its unknown price.
    expect(messages.filter((m) => m.includes('my-weird-model') && m.includes('not a Bedrock model id'))).toHaveLength(1);
    expect(messages.filter((m) => m.includes('my-weird-model') && m.includes('no price known'))).toHaveLength(1);
    expect(records.every((r) => r.costUsd === undefined)).toBe(true);
  });

  it('reports a throwing onUsage once, and the caller still gets the response', async () => {
    server.use(on('converse', () => converseReply({ inputTokens: 1, outputTokens: 1 }, '')));
    const client = makeClient(
      bedrockFinOps({
        onUsage: () => {
          throw new Error('sink is down');
        },
      }),
    );
    const input = { modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'x' }] }] };
    await client.send(new ConverseCommand(input));
    await client.send(new ConverseCommand(input));
    // Once, naming the sink and the error's name; never its message (a user's error may quote the prompt).
    expect(messages.filter((m) => m.includes('a usage sink threw') && m.endsWith(': Error'))).toHaveLength(1);
    expect(messages.some((m) => m.includes('sink is down'))).toBe(false);
  });
});
