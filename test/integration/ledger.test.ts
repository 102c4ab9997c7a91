import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution, type UsageRecord } from '../../src/index.js';
import { jsonlLedger, readLedger, readLedgers, sqliteLedger } from '../../src/ledger/index.js';
import { converseReply, makeClient, mockBedrock, on } from '../helpers/bedrock.js';
import { usageRecord } from '../helpers/usage-records.js';

const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1';

const server = mockBedrock();
let dir = '';
beforeAll(() => {
  server.listen({ onUnhandledRequest: 'error' });
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-ledger-'));
});
afterEach(() => server.resetHandlers());
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const input = (i: number) => ({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user' as const, content: [{ text: `SECRET PROMPT ${i}` }] }] });
const answer = () => converseReply({ inputTokens: 10, outputTokens: 20 }, 'SECRET COMPLETION');

describe('usage ledgers', () => {
  it('a JSON Lines ledger gets every record, batched off the call, and never any prompt or completion text', async () => {
    server.use(on('converse', answer));
    const path = join(dir, 'usage.jsonl');
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({ ledger: jsonlLedger({ path, flushIntervalMs: 10 }), onUsage: (r) => records.push(r) });
    const client = makeClient(finops);
    for (let i = 0; i < 25; i++) await withAttribution({ team: 't', tenant: `x${i % 3}` }, () => client.send(new ConverseCommand(input(i))));
    await finops.shutdown();
    const text = readFileSync(path, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(25);
    expect(text).not.toContain('SECRET');
    const { records: back, skipped } = await readLedger(path);
    expect(skipped).toBe(0);
    expect(back).toEqual(records);
  });

  it('rotates by size into uniquely named files and deletes none by default: every record is read back, in order', async () => {
    server.use(on('converse', answer));
    const sub = join(dir, 'rotating');
    const path = join(sub, 'usage.jsonl');
    const ledger = jsonlLedger({ path, maxBytes: 2_000, flushIntervalMs: 100_000 });
    const finops = bedrockFinOps({ ledger });
    const client = makeClient(finops);
    for (let i = 0; i < 30; i++) {
      await client.send(new ConverseCommand(input(i)));
      await ledger.flush();
    }
    await finops.shutdown();
    const files = readdirSync(sub).sort();
    expect(files.length).toBeGreaterThan(5);
    for (const f of files.filter((x) => x !== 'usage.jsonl')) expect(f).toMatch(new RegExp(`^usage\\.\\d{8}T\\d{6}Z\\.${process.pid}\\.\\d+\\.jsonl$`));
    const { records } = await readLedger(path);
    expect(records).toHaveLength(30);
    expect(records.map((r) => r.startedAt)).toEqual([...records.map((r) => r.startedAt)].sort((a, b) => a - b));
    expect(ledger.written).toBe(30);
  });

  it('deletes old rotated files only under a retention, and gzips rotated files the report still reads', async () => {
    const sub = join(dir, 'retained');
    const path = join(sub, 'usage.jsonl');
    const ledger = jsonlLedger({ path, maxBytes: 1_500, flushIntervalMs: 100_000, retention: { maxFiles: 2 }, compress: true });
    for (let i = 0; i < 40; i++) {
      ledger.write(usageRecord({ startedAt: Date.UTC(2026, 10, 20) + i, requestId: `r${i}` }));
      await ledger.flush();
    }
    await ledger.close();
    const rotated = readdirSync(sub).filter((f) => f !== 'usage.jsonl');
    // Two rotated files kept, both compressed once nobody could still be appending to them.
    expect(rotated).toHaveLength(2);
    for (const f of rotated) expect(f).toMatch(/\.jsonl\.gz$/);
    const { records } = await readLedger(path);
    // The newest records survive, in order; what retention deleted is gone by the user's choice.
    expect(records.length).toBeLessThan(40);
    expect(records.at(-1)?.requestId).toBe('r39');
    expect(ledger.written).toBe(40);
  }, 20_000);

  it('writes the header (the plugin’s provisioned commitments) at the head of every file it starts', async () => {
    const sub = join(dir, 'headers');
    const path = join(sub, 'usage.jsonl');
    const ledger = jsonlLedger({ path, maxBytes: 1_500, flushIntervalMs: 100_000 });
    ledger.describe?.({ provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', modelUnits: 1, hourlyCostUsd: 21 } } });
    for (let i = 0; i < 20; i++) {
      ledger.write(usageRecord({ startedAt: Date.UTC(2026, 10, 20) + i }));
      await ledger.flush();
    }
    await ledger.close();
    const files = readdirSync(sub);
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) {
      const first = JSON.parse(readFileSync(join(sub, f), 'utf8').split('\n')[0]!) as { type: string; pid: number; provisioned: Record<string, unknown> };
      expect(first).toMatchObject({ type: 'bedrock-finops.header', pid: process.pid, provisioned: { [ARN]: { modelUnits: 1, hourlyCostUsd: 21 } } });
    }
  });

  it('gets the provisioned commitments from the plugin itself, so the report needs no --config', async () => {
    server.use(on('converse', answer));
    const path = join(dir, 'from-plugin.jsonl');
    const ledger = jsonlLedger({ path });
    const finops = bedrockFinOps({ ledger, provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', modelUnits: 1, hourlyCostUsd: 21, tokensPerMinutePerUnit: 6_000 } } });
    await makeClient(finops).send(new ConverseCommand(input(1)));
    await finops.shutdown();
    const headers: { provisioned: Record<string, unknown> }[] = [];
    await readLedgers([path], { record: () => undefined, header: (h) => headers.push(h) });
    expect(headers[0]!.provisioned[ARN]).toMatchObject({ model: 'anthropic.claude-3-haiku-20240307-v1:0', modelUnits: 1, hourlyCostUsd: 21, tokensPerMinutePerUnit: 6_000 });
  });

  it('a write error never breaks a call and is reported once', async () => {
    server.use(on('converse', answer));
    const messages: string[] = [];
    diag.setLogger({ error: (m) => messages.push(m), warn: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.ERROR);
    try {
      const ledger = jsonlLedger({ path: join(dir, 'not-a-dir-file', 'x', '\u0000bad.jsonl'), flushIntervalMs: 1 });
      const finops = bedrockFinOps({ ledger });
      const client = makeClient(finops);
      for (let i = 0; i < 3; i++) {
        await client.send(new ConverseCommand(input(i)));
        await ledger.flush();
      }
      await finops.shutdown();
      expect(ledger.dropped).toBe(3);
      expect(messages.filter((m) => m.includes('ledger'))).toHaveLength(1);
    } finally {
      diag.disable();
    }
  });

  it('a SQLite ledger (better-sqlite3 12) stores the same records', async () => {
    server.use(on('converse', answer));
    const path = join(dir, 'usage.db');
    const records: UsageRecord[] = [];
    const finops = bedrockFinOps({ ledger: await sqliteLedger({ path, flushIntervalMs: 10 }), onUsage: (r) => records.push(r) });
    const client = makeClient(finops);
    for (let i = 0; i < 12; i++) await withAttribution({ team: 'db' }, () => client.send(new ConverseCommand(input(i))));
    await finops.shutdown();
    const { records: back } = await readLedger(path);
    expect(back).toEqual(records);
  });
});
