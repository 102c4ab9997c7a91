import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution, type UsageRecord } from '../../src/index.js';
import { fromLogAttributes, HEADER_EVENT, otelLogLedger, parseRecord, USAGE_EVENT } from '../../src/ledger/index.js';
import { SimulatorEngine, simulatorRequestHandler } from '../../src/testing/index.js';

/** What an OTLP/HTTP JSON body carries of a log record. */
interface OtlpLogRecord {
  eventName?: string;
  timeUnixNano: string;
  body?: unknown;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean } }[];
}
interface OtlpBody {
  resourceLogs: { scopeLogs: { scope: { name: string }; logRecords: OtlpLogRecord[] }[] }[];
}

// A local OTLP/HTTP receiver: what a collector's otlp receiver would get from every pod.
const received: { contentType: string | undefined; body: OtlpBody }[] = [];
const raw: string[] = [];
let receiver: Server;
let url = '';
beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      raw.push(text);
      if (req.url === '/v1/logs') received.push({ contentType: req.headers['content-type'], body: JSON.parse(text) as OtlpBody });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/logs`;
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const value = (v: OtlpLogRecord['attributes'][number]['value']): unknown => v.stringValue ?? (v.intValue === undefined ? undefined : Number(v.intValue)) ?? v.doubleValue ?? v.boolValue;

describe('the OpenTelemetry log ledger', () => {
  it('ships every record through a real OTLP HTTP exporter as a bedrock_finops.usage event of attributes only, and the report can read them back', async () => {
    const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url }), scheduledDelayMillis: 50 })] });
    const ledger = await otelLogLedger({ loggerProvider: provider });
    const records: UsageRecord[] = [];
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1';
    const finops = bedrockFinOps({ ledger, onUsage: (r) => records.push(r) });
    ledger.describe?.({ provisioned: { [arn]: { modelUnits: 2, hourlyCostUsd: 40 } } });
    const client = new BedrockRuntimeClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, requestHandler: simulatorRequestHandler(new SimulatorEngine({ latencyMs: 0 })) });
    client.middlewareStack.use(finops);
    for (let i = 0; i < 12; i++)
      await withAttribution({ team: 'search', tenant: `t${i % 3}` }, () => client.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: `SECRET PROMPT ${i}` }] }] })));
    await finops.shutdown();
    await provider.shutdown();

    expect(received.length).toBeGreaterThan(0);
    expect(received[0]!.contentType).toBe('application/json');
    const logs = received.flatMap((r) => r.body.resourceLogs.flatMap((rl) => rl.scopeLogs.filter((s) => s.scope.name === 'bedrock-finops').flatMap((s) => s.logRecords)));
    const usage = logs.filter((l) => l.eventName === USAGE_EVENT);
    expect(usage).toHaveLength(12);
    expect(logs.filter((l) => l.eventName === HEADER_EVENT)).toHaveLength(1);
    // Attributes only: no body, and no prompt or completion text anywhere on the wire.
    // (the OTLP JSON encoding writes an absent body as an empty AnyValue `{}`)
    for (const l of usage) expect(l.body ?? {}).toEqual({});
    expect(raw.join('')).not.toContain('SECRET');
    // What a collector stored is a record the report can read: the same as onUsage saw.
    const back = usage.map((l) => parseRecord(fromLogAttributes(Object.fromEntries(l.attributes.map((a) => [a.key, value(a.value)])))));
    expect(back).toEqual(records);
    expect(usage[0]!.timeUnixNano).toBe(`${records[0]!.startedAt}000000`);
    expect(ledger.written).toBe(12);
  });
});
