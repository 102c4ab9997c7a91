/**
 * The simulator with the client exactly as a newcomer builds it: `endpoint` only, no
 * `requestHandler`, so the SDK's default `NodeHttp2Handler` speaks cleartext HTTP/2 to it.
 */
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithBidirectionalStreamCommand,
  InvokeModelWithResponseStreamCommand,
  type InvokeModelWithBidirectionalStreamInput,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { waitFor } from '../helpers/processes.js';
import { startBedrockSimulator, tokensOfText, type BedrockSimulator } from '../../src/testing/index.js';

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const text = 'The quick brown fox jumps over the lazy dog.';
const messages = [{ role: 'user' as const, content: [{ text }] }];
const anthropicBody = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 9, messages: [{ role: 'user', content: text }] });
const encoder = new TextEncoder();

let sim: BedrockSimulator;
let client: BedrockRuntimeClient;
const records: UsageRecord[] = [];

beforeAll(async () => {
  sim = await startBedrockSimulator({ onDemand: { maxConcurrency: 4 } });
  client = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  client.middlewareStack.use(bedrockFinOps({ onUsage: (r) => records.push(r) }));
});
afterAll(async () => {
  client.destroy();
  await sim.close();
});

async function lastRecord(run: () => Promise<unknown>): Promise<UsageRecord | undefined> {
  const before = records.length;
  await run();
  expect(records.length).toBe(before + 1);
  return records.at(-1);
}

async function* sonicSession(): AsyncGenerator<InvokeModelWithBidirectionalStreamInput> {
  const event = (e: unknown) => ({ chunk: { bytes: encoder.encode(JSON.stringify({ event: e })) } });
  yield event({ sessionStart: { inferenceConfiguration: { maxTokens: 10 } } });
  for (const promptName of ['p1', 'p2']) {
    yield event({ promptStart: { promptName } });
    yield event({ textInput: { promptName, content: text } });
    yield event({ promptEnd: { promptName } });
  }
  yield event({ sessionEnd: {} });
}

describe('the simulator with a default BedrockRuntimeClient (HTTP/2 cleartext, no custom handler)', () => {
  const input = tokensOfText(text) + 3;

  it('meters Converse with the exact usage the simulator reports', async () => {
    const r = await lastRecord(() => client.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages, inferenceConfig: { maxTokens: 20 } })));
    expect(r).toMatchObject({ operation: 'Converse', inputTokens: input, outputTokens: 20, usageSource: 'usage', outcome: 'success' });
  });

  it('meters ConverseStream read to the end from its metadata event', async () => {
    const r = await lastRecord(async () => {
      const out = await client.send(new ConverseStreamCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages, inferenceConfig: { maxTokens: 12 } }));
      for await (const _ of out.stream ?? []);
    });
    expect(r).toMatchObject({ operation: 'ConverseStream', inputTokens: input, outputTokens: 12, outcome: 'success' });
  });

  it('meters InvokeModel from the billed-token headers', async () => {
    const r = await lastRecord(() => client.send(new InvokeModelCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', body: anthropicBody })));
    expect(r).toMatchObject({ operation: 'InvokeModel', inputTokens: input, outputTokens: 9, usageSource: 'headers' });
  });

  it('meters InvokeModelWithResponseStream from the final invocation metrics', async () => {
    const r = await lastRecord(async () => {
      const out = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', body: anthropicBody }));
      for await (const _ of out.body ?? []);
    });
    expect(r).toMatchObject({ operation: 'InvokeModelWithResponseStream', inputTokens: input, outputTokens: 9, usageSource: 'invocation-metrics' });
  });

  it('answers CountTokens, which the plugin passes through without a record', async () => {
    const before = records.length;
    const out = await client.send(new CountTokensCommand({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', input: { converse: { messages } } }));
    expect(out.inputTokens).toBe(input);
    expect(records.length).toBe(before);
  });

  it('holds an InvokeModelWithBidirectionalStream session over HTTP/2: each prompt answered while the client still sends', async () => {
    const outputs: string[] = [];
    const r = await lastRecord(async () => {
      const out = await client.send(new InvokeModelWithBidirectionalStreamCommand({ modelId: 'amazon.nova-sonic-v1:0', body: sonicSession() }));
      for await (const e of out.body ?? []) {
        const event = (JSON.parse(new TextDecoder().decode(e.chunk?.bytes)) as { event: Record<string, unknown> }).event;
        outputs.push(Object.keys(event)[0] ?? '');
      }
    });
    expect(outputs.filter((o) => o === 'usageEvent')).toHaveLength(2);
    expect(outputs.at(-1)).toBe('completionEnd');
    // Cumulative usage of both prompts: the plugin keeps the last usageEvent.
    expect(r).toMatchObject({ operation: 'InvokeModelWithBidirectionalStream', inputTokens: 2 * tokensOfText(text), outputTokens: 20, outcome: 'success' });
  });
});

describe('one port, both protocols', () => {
  it('answers HTTP/1.1 (NodeHttpHandler) and HTTP/2 (default handler) clients at the same time', async () => {
    const http1 = new BedrockRuntimeClient({ endpoint: sim.url, region: 'us-east-1', credentials, requestHandler: new NodeHttpHandler() });
    const before = sim.stats.requests;
    const call = (c: BedrockRuntimeClient) => c.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages, inferenceConfig: { maxTokens: 3 } }));
    const outs = await Promise.all([call(http1), call(client), call(http1), call(client)]);
    expect(outs.map((o) => o.usage?.outputTokens)).toEqual([3, 3, 3, 3]);
    expect(sim.stats.requests - before).toBe(4);
    http1.destroy();
  });

  it('gives a stream back its capacity when its HTTP/2 client goes away mid-stream', async () => {
    // Events every 200 ms: the stream would hold its only slot for over 3 s if the server kept sending.
    const limited = await startBedrockSimulator({ onDemand: { maxConcurrency: 1 }, chunkDelayMs: 200 });
    const next = new BedrockRuntimeClient({ endpoint: limited.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      const session = http2Connect(limited.url);
      const stream = session.request({ ':method': 'POST', ':path': '/model/us.amazon.nova-micro-v1%3A0/converse-stream', 'content-type': 'application/json' });
      stream.end(JSON.stringify({ messages }));
      await new Promise((resolve) => stream.once('data', resolve));
      session.destroy(); // the connection drops with the stream still open
      const call = () => next.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages, inferenceConfig: { maxTokens: 2 } }));
      const out = await waitFor('the slot to be given back', async () => (await call()).usage, 1_500, 50);
      expect(out.outputTokens).toBe(2);
    } finally {
      next.destroy();
      await limited.close();
    }
  });

  it('answers a connection that speaks neither protocol with 400, and keeps serving', async () => {
    const junk = connect(sim.port, '127.0.0.1');
    let reply = '';
    junk.on('data', (d: Buffer) => (reply += d.toString()));
    await new Promise<void>((resolve) => {
      junk.once('connect', () => junk.write('\x00\x01 not http at all\r\n\r\n'));
      junk.once('close', () => resolve());
      junk.setTimeout(5_000, () => junk.destroy());
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    const out = await client.send(new ConverseCommand({ modelId: 'us.amazon.nova-micro-v1:0', messages, inferenceConfig: { maxTokens: 1 } }));
    expect(out.usage?.outputTokens).toBe(1);
  });
});
