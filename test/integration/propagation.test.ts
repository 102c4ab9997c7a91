import { ConverseCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution } from '../../src/index.js';
import { json, jsonBody, makeClient, useMockBedrock, on } from '../helpers/bedrock.js';

const server = useMockBedrock();

const ok = { output: { message: { role: 'assistant', content: [] } }, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } };

function decodeHeader(value: string | null): unknown {
  if (value === null) return null;
  try {
    return JSON.parse(value);
  } catch {
    return JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  }
}

describe('propagateToBedrock', () => {
  it('writes attribution into Converse requestMetadata, the caller’s own pairs winning, without touching the caller’s input', async () => {
    const bodies: unknown[] = [];
    server.use(
      on('converse', async ({ request }) => {
        bodies.push(await request.json());
        return json(ok);
      }),
    );
    const client = makeClient(bedrockFinOps({ propagateToBedrock: true, attribution: { team: 'search' } }));
    const input = { modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'x' }] }], requestMetadata: { team: 'caller-wins', run: '7' } };
    await withAttribution({ tenant: 'acme corp/eu', note: 'bad<chars>&"here"' }, () => client.send(new ConverseCommand(input)));
    expect((bodies[0] as { requestMetadata: unknown }).requestMetadata).toEqual({ team: 'caller-wins', run: '7', tenant: 'acme corp/eu', note: 'badcharshere' });
    expect(input.requestMetadata).toEqual({ team: 'caller-wins', run: '7' });
  });

  it('sends InvokeModel attribution in the request-metadata header', async () => {
    const headers: (string | null)[] = [];
    server.use(
      on('invoke', ({ request }) => {
        headers.push(request.headers.get('x-amzn-bedrock-request-metadata'));
        return json({ generation: 'x', prompt_token_count: 1, generation_token_count: 1 });
      }),
    );
    const client = makeClient(bedrockFinOps({ propagateToBedrock: true, attribution: { team: 'search' } }));
    await client.send(new InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody({ prompt: 'x' }) }));
    expect(decodeHeader(headers[0] ?? null)).toEqual({ team: 'search' });
  });

  it('keeps to 16 pairs and 256 characters, and sends nothing extra when it is off', async () => {
    const bodies: { requestMetadata?: Record<string, string> }[] = [];
    server.use(
      on('converse', async ({ request }) => {
        bodies.push((await request.json()) as { requestMetadata?: Record<string, string> });
        return json(ok);
      }),
    );
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(128)]));
    const input = { modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'x' }] }] };
    await withAttribution(many, () => makeClient(bedrockFinOps({ propagateToBedrock: true })).send(new ConverseCommand(input)));
    await withAttribution(many, () => makeClient(bedrockFinOps({})).send(new ConverseCommand(input)));
    expect(Object.keys(bodies[0]!.requestMetadata!)).toHaveLength(16);
    expect(Object.values(bodies[0]!.requestMetadata!).every((v) => v.length <= 256)).toBe(true);
    expect(bodies[1]!.requestMetadata).toBeUndefined();
  });

  it('drops Unicode spaces an HTTP/1.1 client refuses in a header: the InvokeModel call goes through, metered, with the value minus them', async () => {
    const headers: (string | null)[] = [];
    server.use(
      on('invoke', ({ request }) => {
        headers.push(request.headers.get('x-amzn-bedrock-request-metadata'));
        return json({ generation: 'x', prompt_token_count: 1, generation_token_count: 1 });
      }),
    );
    const records: unknown[] = [];
    const client = makeClient(bedrockFinOps({ propagateToBedrock: true, onUsage: (r) => records.push(r) }));
    // U+2028, U+3000, U+FEFF, U+1680: JavaScript's \s, not Bedrock's (ASCII) whitespace.
    for (const tenant of ['acme\u2028corp', 'acme\u3000corp', 'acme\ufeffcorp', 'acme\u1680corp'])
      await withAttribution({ tenant }, () => client.send(new InvokeModelCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: jsonBody({ prompt: 'x' }) })));
    expect(headers.map((h) => decodeHeader(h))).toEqual(Array.from({ length: 4 }, () => ({ tenant: 'acmecorp' })));
    // Every call metered, under its true attribution.
    expect(records.map((r) => (r as { attribution: { tenant: string } }).attribution.tenant)).toEqual(['acme\u2028corp', 'acme\u3000corp', 'acme\ufeffcorp', 'acme\u1680corp']);
  });
});
