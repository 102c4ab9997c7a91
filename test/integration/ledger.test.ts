import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, withAttribution, type UsageRecord } from '../../src/index.js';
import { jsonlLedger, readLedger, sqliteLedger } from '../../src/ledger/index.js';
import { makeClient, mockBedrock, on, converseReply } from '../helpers/bedrock.js';

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

  it('rotates by size, keeping maxFiles, and reads rotated files back in order', async () => {
    server.use(on('converse', answer));
    const path = join(dir, 'rotating.jsonl');
    const ledger = jsonlLedger({ path, maxBytes: 2_000, maxFiles: 3, flushIntervalMs: 100_000 });
    const finops = bedrockFinOps({ ledger });
    const client = makeClient(finops);
    for (let i = 0; i < 30; i++) {
      await client.send(new ConverseCommand(input(i)));
      await ledger.flush();
    }
    await finops.shutdown();
    const files = readdirSync(dir).filter((f) => f.startsWith('rotating.jsonl')).sort();
    expect(files).toEqual(['rotating.jsonl', 'rotating.jsonl.1', 'rotating.jsonl.2', 'rotating.jsonl.3']);
    const { records } = await readLedger(path);
    expect(records.length).toBeLessThan(30);
    expect(records.map((r) => r.startedAt)).toEqual([...records.map((r) => r.startedAt)].sort((a, b) => a - b));
    expect(ledger.written).toBe(30);
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
