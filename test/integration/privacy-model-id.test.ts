import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { converseReply, makeClient, on, say, useMockBedrock } from '../helpers/bedrock.js';
import { bedrockUrl, converseRequest, post } from '../helpers/fetch.js';

// The model id a call asks for is the caller's, and a gateway passes its own users' on: a hostile
// one (a megabyte, each call another) went whole into every record, ledger line and
// gen_ai.request.model series (up to 5,000 series kept: gigabytes). It is now recorded, resolved
// and counted as its first 2,048 characters (Bedrock accepts no longer id); what is sent is the
// caller's request, untouched.

const server = useMockBedrock();
const PREFIX = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';

function witness() {
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const records: UsageRecord[] = [];
  const finops = bedrockFinOps({ meterProvider: new MeterProvider({ readers: [reader] }), onUsage: (r) => records.push(r), budgets: [{ name: 'all', limit: { tokens: 1e9 }, window: 'day' }] });
  /** The longest attribute value in any series, and the distinct `gen_ai.request.model` values. */
  const series = async (): Promise<{ longest: number; models: number }> => {
    const { resourceMetrics } = await reader.collect();
    let longest = 0;
    const models = new Set<string>();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        for (const point of metric.dataPoints) {
          for (const value of Object.values(point.attributes)) longest = Math.max(longest, String(value).length);
          const model = point.attributes['gen_ai.request.model'];
          if (typeof model === 'string') models.add(model);
        }
    return { longest, models: models.size };
  };
  return { finops, records, series };
}

describe('a model id longer than any Bedrock accepts', () => {
  it('through the SDK: 10 calls with distinct 4,000-character ids are recorded as their first 2,048 characters, charged what was billed, the request sent whole', async () => {
    const sent: number[] = [];
    server.use(
      on('converse', ({ params }) => {
        sent.push(typeof params.modelId === 'string' ? decodeURIComponent(params.modelId).length : -1);
        return converseReply({ inputTokens: 7, outputTokens: 3 });
      }),
    );
    const w = witness();
    const client = makeClient(w.finops, { maxAttempts: 1 });
    // Distinct past their first 2,048 characters (a hostile caller varies the tail).
    const ids = Array.from({ length: 10 }, (_, i) => `${PREFIX}${'x'.repeat(4_000 - PREFIX.length - 4)}${String(i).padStart(4, '0')}`);
    for (const id of ids) await client.send(new ConverseCommand(say('hi', id)));
    // Sent as the caller made it: 4,000 characters each.
    expect(sent).toEqual(ids.map(() => 4_000));
    // Before: 4,000 characters in each record's requestedModelId and modelId.
    expect(w.records.map((r) => [r.requestedModelId.length, r.modelId.length, r.inputTokens, r.outputTokens])).toEqual(ids.map(() => [2_048, 2_048, 7, 3]));
    expect(w.records.map((r) => r.requestedModelId)).toEqual(ids.map((id) => id.slice(0, 2_048)));
    // One series of 2,048-character model attributes, not ten of 4,000.
    expect(await w.series()).toEqual({ longest: 2_048, models: 1 });
    const [status] = await w.finops.budgets.status();
    expect({ used: status?.used.tokens, reserved: status?.reserved.tokens }).toEqual({ used: 100, reserved: 0 });
    await w.finops.shutdown();
  });

  it('through wrapFetch: a 1,000,000-character id is recorded as its first 2,048 characters, the base fetch gets the URL as given', async () => {
    const w = witness();
    const urls: number[] = [];
    const fetch = w.finops.wrapFetch((input) => {
      urls.push(typeof input === 'string' ? input.length : -1);
      return Promise.resolve(new Response(JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'x' }] } }, stopReason: 'end_turn', usage: { inputTokens: 5, outputTokens: 20, totalTokens: 25 } }), { headers: { 'content-type': 'application/json' } }));
    });
    const id = `${PREFIX}${'y'.repeat(1_000_000)}`;
    const url = bedrockUrl(id, 'converse');
    await (await fetch(url, post(converseRequest('hello')))).text();
    expect(urls).toEqual([url.length]);
    // Before: 1,000,043 characters in the record.
    expect(w.records.map((r) => [r.requestedModelId.length, r.outputTokens])).toEqual([[2_048, 20]]);
    expect(await w.series()).toEqual({ longest: 2_048, models: 1 });
    const [status] = await w.finops.budgets.status();
    expect({ used: status?.used.tokens, reserved: status?.reserved.tokens }).toEqual({ used: 25, reserved: 0 });
    await w.finops.shutdown();
  });
});
