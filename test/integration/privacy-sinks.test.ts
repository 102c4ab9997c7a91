import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConverseCommand, ConverseStreamCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { HttpResponse } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bedrockFinOps, type BedrockFinOpsOptions, type UsageRecord } from '../../src/index.js';
import { jsonlLedger } from '../../src/ledger/index.js';
import { converseStreamEvent, encodeEventStream, invokeStreamChunk, streamException, type EventStreamMessage } from '../../src/testing/index.js';
import { awsError, converseReply, drain, json, jsonBody, makeClient, on, say, tick, useMockBedrock } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, post, until } from '../helpers/fetch.js';

// What every output is searched for: the prompt the caller sent and the completion Bedrock wrote.
const PROMPT = 'PLEASE SUMMARISE MY SECRET MERGER MEMO';
const COMPLETION = 'THE CONFIDENTIAL SUMMARY READS';
const HAIKU = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';

const server = useMockBedrock();

/** Every place a call leaves a trace: metrics (an SDK reader), the JSONL ledger's bytes, onUsage, diag (all levels), console, the budget store. */
function witness(options: BedrockFinOpsOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-privacy-'));
  const path = join(dir, 'usage.jsonl');
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({
    meterProvider: new MeterProvider({ readers: [reader] }),
    ledger: jsonlLedger({ path, flushIntervalMs: 10 }),
    onUsage: (r) => records.push(r),
    attribution: { team: 'search' },
    budgets: [{ name: 'per-team', per: 'team', limit: { tokens: 1e9 }, window: 'day' }],
    ...options,
  });
  return {
    finops,
    records,
    client: makeClient(finops, { maxAttempts: 1 }),
    /** Each output as text, once the calls so far have settled (the plugin is shut down). */
    async outputs(settled: number): Promise<Record<string, string>> {
      await until(() => records.length >= settled, `${settled} records`);
      const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
      const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => ({ name: m.descriptor.name, attributes: m.dataPoints.map((p) => p.attributes) })));
      const store = await finops.budgets.status();
      await finops.shutdown();
      const ledger = existsSync(path) ? readFileSync(path, 'utf8') : '';
      rmSync(dir, { recursive: true, force: true });
      return { records: JSON.stringify(records), metrics: JSON.stringify(metrics), ledger, store: JSON.stringify(store), diag: logs.join('\n'), console: consoled.join('\n') };
    },
  };
}

const logs: string[] = [];
const consoled: string[] = [];
beforeEach(() => {
  const log = (m: string, ...rest: unknown[]): void => {
    logs.push([m, ...rest.map(String)].join(' '));
  };
  diag.setLogger({ error: log, warn: log, info: log, debug: log, verbose: log }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoled.push(args.map(String).join(' '));
    });
});
afterEach(() => {
  diag.disable();
  vi.restoreAllMocks();
  logs.length = 0;
  consoled.length = 0;
});

// Every output here is JSON (JSON.stringify writes a lone surrogate as an escape, a pair as itself) or diag text.
const LONE_SURROGATE = /\\ud[89a-f][0-9a-f]{2}|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/i;

/** The outputs that carry text (or are longer than `maxChars`), by name, with what they carry; `{}` when clean. */
function leaks(outputs: Record<string, string>, maxChars: number): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, text] of Object.entries(outputs)) {
    const what = [text.includes('SECRET') ? 'prompt' : '', text.includes('CONFIDENTIAL') ? 'completion' : '', text.length > maxChars ? `${text.length} chars` : '', LONE_SURROGATE.test(text) ? 'lone surrogate' : '']
      .filter((w) => w !== '')
      .join(', ');
    if (what !== '') found[name] = what;
  }
  return found;
}

const eventStreamResponse = (messages: readonly EventStreamMessage[], headers: Record<string, string> = {}): HttpResponse<ArrayBuffer> => {
  const body = encodeEventStream(messages);
  return new HttpResponse(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, {
    headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-stream', ...headers },
  });
};

const errorResponse = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse<string> =>
  new HttpResponse(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'x-amzn-requestid': 'req-err', ...headers } });

const answer = (extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): HttpResponse<string> =>
  json(
    {
      output: { message: { role: 'assistant', content: [{ text: COMPLETION }, { toolUse: { toolUseId: 't1', name: 'lookup', input: { query: COMPLETION } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 12, outputTokens: 8, totalTokens: 20 },
      additionalModelResponseFields: { thinking: COMPLETION },
      trace: { guardrail: { modelOutput: [COMPLETION], inputAssessment: { g1: { topicPolicy: { topics: [{ name: PROMPT, action: 'BLOCKED' }] } } } } },
      ...extra,
    },
    headers,
  );

describe('no prompt or completion text reaches any output', () => {
  it('Bedrock errors quoting the prompt (ValidationException, originalMessage, a ModelStreamErrorException mid-stream) leave only their exception names', async () => {
    server.use(
      on('converse', () => errorResponse(400, { message: `Malformed input request: '${PROMPT}'`, originalMessage: PROMPT }, { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' })),
      on('converse-stream', () =>
        eventStreamResponse([
          converseStreamEvent('messageStart', { role: 'assistant' }),
          converseStreamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: COMPLETION } }),
          streamException('modelStreamErrorException', `${COMPLETION} (${PROMPT})`),
        ]),
      ),
      on('invoke-with-response-stream', () => eventStreamResponse([invokeStreamChunk({ type: 'content_block_delta', delta: { text: COMPLETION } }), streamException('modelStreamErrorException', COMPLETION)])),
    );
    const w = witness();
    await expect(w.client.send(new ConverseCommand(say(PROMPT, HAIKU)))).rejects.toThrow(PROMPT);
    await expect(drain((await w.client.send(new ConverseStreamCommand(say(PROMPT, HAIKU)))).stream)).rejects.toThrow(COMPLETION);
    await expect(drain((await w.client.send(new InvokeModelWithResponseStreamCommand({ modelId: HAIKU, body: jsonBody({ max_tokens: 10, messages: [{ role: 'user', content: PROMPT }] }) }))).body)).rejects.toThrow(COMPLETION);
    const outputs = await w.outputs(3);
    expect(w.records.map((r) => r.error)).toEqual(['ValidationException', 'ModelStreamErrorException', 'ModelStreamErrorException']);
    expect(leaks(outputs, 8_000)).toEqual({});
  });

  it('an answer carrying completion text in tool use, additionalModelResponseFields and a guardrail trace leaves none of it', async () => {
    server.use(on('converse', () => answer()));
    const w = witness();
    await w.client.send(new ConverseCommand(say(PROMPT, HAIKU)));
    expect(leaks(await w.outputs(1), 20_000)).toEqual({});
  });

  it('an error code written as prose (a gateway answering { code: "…prompt…" }) is recorded as "Error", not as the first 64 characters of the prompt', async () => {
    server.use(on('converse', () => errorResponse(400, { code: `Refused: ${PROMPT}`.replace(':', ''), message: PROMPT })));
    const w = witness();
    const thrown = await w.client.send(new ConverseCommand(say(PROMPT, HAIKU))).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // The caller still gets what the SDK made of it.
    expect(thrown?.name).toBe(`Refused ${PROMPT}`);
    const outputs = await w.outputs(1);
    // Before: record.error, the ledger line and error.type were "Refused PLEASE SUMMARISE MY SECRET MERGER MEMO".
    expect(w.records[0]?.error).toBe('Error');
    expect(leaks(outputs, 8_000)).toEqual({});
  });

  it('through wrapFetch too: an x-amzn-errortype header written as prose is recorded as "Error"', async () => {
    const w = witness();
    const fetch = w.finops.wrapFetch(() =>
      Promise.resolve(new Response(JSON.stringify({ message: PROMPT }), { status: 400, headers: { 'content-type': 'application/json', 'x-amzn-errortype': `${PROMPT}:http://internal`, 'x-amzn-requestid': 'r' } })),
    );
    const response = await fetch(bedrockUrl(HAIKU, 'converse'), post(converseRequest(PROMPT)));
    expect(response.status).toBe(400);
    const outputs = await w.outputs(1);
    // Before: "PLEASE SUMMARISE MY SECRET MERGER MEMO".
    expect(w.records[0]?.error).toBe('Error');
    expect(leaks(outputs, 8_000)).toEqual({});
  });
});

describe('untrusted response fields are bounded', () => {
  it('a 10 MB serviceTier.type in a Converse answer is not believed: the record keeps the tier asked for, every output stays small', async () => {
    server.use(on('converse', () => answer({ serviceTier: { type: `${COMPLETION}${'x'.repeat(10_000_000)}` } })));
    const w = witness();
    await w.client.send(new ConverseCommand({ ...say(PROMPT, HAIKU), serviceTier: { type: 'flex' } }));
    const outputs = await w.outputs(1);
    // Before: the record, its onUsage copy and its ledger line each carried the 10,000,030 characters.
    expect(w.records[0]?.serviceTier).toBe('flex');
    expect(leaks(outputs, 8_000)).toEqual({});
  });

  it('a ConverseStream metadata event naming a 5 MB tier and a 1 MB routed model id: recorded as the tier asked for (none) and the model sent', async () => {
    server.use(
      on('converse-stream', () =>
        eventStreamResponse([
          converseStreamEvent('messageStart', { role: 'assistant' }),
          converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
          converseStreamEvent('metadata', {
            usage: { inputTokens: 12, outputTokens: 8, totalTokens: 20 },
            metrics: { latencyMs: 5 },
            serviceTier: { type: `${COMPLETION}${'t'.repeat(5_000_000)}` },
            trace: { promptRouter: { invokedModelId: `${COMPLETION}${'m'.repeat(1_000_000)}` }, guardrail: { modelOutput: [COMPLETION] } },
          }),
        ]),
      ),
    );
    const w = witness();
    await drain((await w.client.send(new ConverseStreamCommand(say(PROMPT, HAIKU)))).stream);
    const outputs = await w.outputs(1);
    // Before: records of 6,000,563 characters, metrics of 7,002,989 (the id in gen_ai.response.model of every series), a diag line quoting it.
    expect({ tier: w.records[0]?.serviceTier, model: w.records[0]?.modelId }).toEqual({ tier: undefined, model: HAIKU });
    expect(w.records[0]?.costUsd).toBeCloseTo((12 * 0.8 + 8 * 4) / 1e6, 12);
    expect(leaks(outputs, 8_000)).toEqual({});
  });

  it('a prompt router naming something no model id can be (spaces, 3,000 characters) is not believed; a real routed id still is', async () => {
    const routed = ['anthropic.claude-3-haiku-20240307-v1:0', `${COMPLETION} was routed`, `a${'.b'.repeat(1_500)}`];
    let i = 0;
    server.use(on('converse', () => answer({ trace: { promptRouter: { invokedModelId: routed[i++] } } })));
    const w = witness();
    for (let n = 0; n < routed.length; n++) await w.client.send(new ConverseCommand(say(PROMPT, HAIKU)));
    const outputs = await w.outputs(3);
    // Before: the 2nd and 3rd records (and their gen_ai.response.model series, unpriced) named what the response said.
    expect(w.records.map((r) => r.modelId)).toEqual(['anthropic.claude-3-haiku-20240307-v1:0', HAIKU, HAIKU]);
    expect(leaks(outputs, 8_000)).toEqual({});
  });

  it('a 15 KB x-amzn-requestid (about what Node lets through) is not recorded as a request id; a real one is', async () => {
    let i = 0;
    server.use(on('converse', () => answer({}, { 'x-amzn-requestid': i++ === 0 ? `req-${'9'.repeat(15_000)}` : '0f5e6a1c-3b1d-4c1e-9d2a-7f1e2d3c4b5a' })));
    const w = witness();
    await w.client.send(new ConverseCommand(say(PROMPT, HAIKU)));
    await w.client.send(new ConverseCommand(say(PROMPT, HAIKU)));
    const outputs = await w.outputs(2);
    // Before: the first record and its ledger line carried all 15,004 characters.
    expect(w.records.map((r) => r.requestId)).toEqual([undefined, '0f5e6a1c-3b1d-4c1e-9d2a-7f1e2d3c4b5a']);
    expect(leaks(outputs, 8_000)).toEqual({});
  });

  it('through wrapFetch (a base fetch with no header limit): 2 MB request ids, tiers and routed ids stay out of whole, streamed and error answers', async () => {
    const huge = `${COMPLETION}${'z'.repeat(2_000_000)}`;
    const headers = { 'x-amzn-requestid': huge, 'x-amzn-bedrock-service-tier': huge };
    const body = JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: COMPLETION }] } }, stopReason: 'end_turn', usage: { inputTokens: 12, outputTokens: 8, totalTokens: 20 }, serviceTier: { type: huge }, trace: { promptRouter: { invokedModelId: huge } } });
    const stream = encodeEventStream([
      converseStreamEvent('messageStart', { role: 'assistant' }),
      converseStreamEvent('messageStop', { stopReason: 'end_turn' }),
      converseStreamEvent('metadata', { usage: { inputTokens: 12, outputTokens: 8, totalTokens: 20 }, metrics: { latencyMs: 5 }, serviceTier: { type: huge } }),
    ]);
    const w = witness();
    const fetch = w.finops.wrapFetch((input) => {
      const url = input instanceof Request ? input.url : input.toString();
      if (url.endsWith('/converse-stream')) return Promise.resolve(new Response(stream, { headers: { 'content-type': 'application/vnd.amazon.eventstream', ...headers } }));
      if (url.includes('error')) return Promise.resolve(new Response('{}', { status: 429, headers: { 'x-amzn-errortype': 'ThrottlingException', ...headers } }));
      return Promise.resolve(new Response(body, { headers: { 'content-type': 'application/json', ...headers } }));
    });
    await (await fetch(bedrockUrl(HAIKU, 'converse'), post(converseRequest(PROMPT)))).text();
    await (await fetch(bedrockUrl(HAIKU, 'converse-stream'), post(converseRequest(PROMPT)))).arrayBuffer();
    await fetch(bedrockUrl(HAIKU, 'converse').replace('/converse', '/converse?error'), post(converseRequest(PROMPT)));
    const outputs = await w.outputs(3);
    // Before: every 2,000,030-character value recorded: 12,001,873 characters of records and 12,006,156 of metrics.
    expect(w.records.map((r) => [r.outcome, r.modelId, r.serviceTier, r.requestId, r.error])).toEqual([
      ['success', HAIKU, undefined, undefined, undefined],
      ['success', HAIKU, undefined, undefined, undefined],
      ['error', HAIKU, undefined, undefined, 'ThrottlingException'],
    ]);
    expect(leaks(outputs, 8_000)).toEqual({});
  });

  it('a lone surrogate in an error name or a served tier never reaches a record, a ledger line or a metric attribute', async () => {
    let i = 0;
    server.use(on('converse', () => (i++ === 0 ? errorResponse(400, { __type: 'Validation\ud800Exception' }) : answer({ serviceTier: { type: 'fl\udc00ex' } }))));
    const w = witness();
    await w.client.send(new ConverseCommand(say(PROMPT, HAIKU))).catch(() => undefined);
    await w.client.send(new ConverseCommand(say(PROMPT, HAIKU)));
    const outputs = await w.outputs(2);
    // Before: "Validation\ud800Exception" as record.error and error.type (an OTLP exporter writes it as invalid UTF-8), "fl\udc00ex" as the tier.
    expect(w.records.map((r) => [r.error, r.serviceTier])).toEqual([
      ['Error', undefined],
      [undefined, undefined],
    ]);
    expect(leaks(outputs, 8_000)).toEqual({});
  });
});

describe('a careless onUsage never breaks the call', () => {
  const oddErrors: [string, () => Error][] = [
    ['a number for a name', () => Object.assign(new Error('x'), { name: 42 })],
    ['a name getter that throws', () => Object.defineProperty(new Error('x'), 'name', { get: () => { throw new Error('name getter'); } })],
    ['a code getter that throws', () => Object.defineProperty(new Error('x'), 'code', { get: () => { throw new Error('code getter'); } })],
  ];
  for (const [what, make] of oddErrors)
    it(`an onUsage throwing an Error with ${what}: a failing call still rejects with the service's exception, and the throw is reported`, async () => {
      server.use(on('converse', () => awsError(400, 'ValidationException', PROMPT)));
      let sunk = 0;
      const w = witness({
        onUsage: () => {
          sunk++;
          throw make();
        },
      });
      const thrown = await w.client.send(new ConverseCommand(say(PROMPT, HAIKU))).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      await until(() => sunk === 1, 'onUsage');
      // Before: the caller got "TypeError: error.name.slice is not a function" (or the getter's error) in place of its ValidationException.
      expect(thrown?.name).toBe('ValidationException');
      expect(logs.filter((m) => m.includes('a usage sink threw'))).toHaveLength(1);
      await w.finops.shutdown();
    });

  it('and a successful call resolves, its record in the ledger, the sink reported as a sink (not as a response it could not read)', async () => {
    server.use(on('converse', () => converseReply()));
    const w = witness({
      onUsage: () => {
        throw Object.assign(new Error('x'), { name: 42 });
      },
    });
    await expect(w.client.send(new ConverseCommand(say(PROMPT, HAIKU)))).resolves.toBeDefined();
    await tick(20);
    // Before: "could not read usage from a response: TypeError".
    expect(logs.filter((m) => m.includes('bedrock-finops'))).toEqual([expect.stringContaining('a usage sink threw (the call is unaffected): Error')]);
    await w.finops.shutdown();
  });
});

describe('an odd error from a middleware below the plugin never leaves a call unsettled', () => {
  it('an Error whose name getter throws: the caller gets that very error, the call is recorded as "Error", nothing stays reserved', async () => {
    const w = witness({ estimator: () => 10 });
    const hostile = Object.defineProperty(new Error('x'), 'name', {
      get: () => {
        throw new Error('name getter');
      },
    });
    w.client.middlewareStack.add(() => () => Promise.reject(hostile), { step: 'initialize', priority: 'low', name: 'throwsOddError' });
    const thrown = await w.client.send(new ConverseCommand(say(PROMPT, HAIKU, 10))).then(
      () => undefined,
      (e: unknown) => e,
    );
    const [status] = await w.finops.budgets.status();
    // Before: reading the name to tell an abort threw, so the getter's error replaced the caller's, the call was
    // never settled (no record) and its 20-token reservation stayed held.
    expect({ same: thrown === hostile, records: w.records.map((r) => [r.outcome, r.error]), reserved: status?.reserved.tokens }).toEqual({ same: true, records: [['error', 'Error']], reserved: 0 });
    await w.finops.shutdown();
  });
});
