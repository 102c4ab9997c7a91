import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedrockFinOps, type UsageRecord } from '../../src/index.js';
import { readLedger, readLedgers, sqliteLedger } from '../../src/ledger/index.js';
import { json, makeClient, on, useMockBedrock } from '../helpers/bedrock.js';

const server = useMockBedrock();
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-sqlite-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const input = { modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user' as const, content: [{ text: 'hi' }] }] };
const answer = () => json({ output: { message: { role: 'assistant', content: [{ text: 'ok' }] } }, stopReason: 'end_turn', usage: { inputTokens: 10, outputTokens: 20, totalTokens: 30 } });

describe('the SQLite ledger writes on a worker thread', () => {
  it('never stalls a call while another connection holds the write lock; the records wait and land once it is released', async () => {
    server.use(on('converse', answer));
    const path = join(dir, 'locked.db');
    const records: UsageRecord[] = [];
    const ledger = await sqliteLedger({ path, flushIntervalMs: 5, busyTimeoutMs: 100 });
    const finops = bedrockFinOps({ ledger, onUsage: (r) => records.push(r) });
    const client = makeClient(finops);

    const lock = new Database(path);
    lock.pragma('busy_timeout = 0');
    lock.exec('BEGIN IMMEDIATE');
    try {
      for (let i = 0; i < 10; i++) await client.send(new ConverseCommand(input));
      let flushed = false;
      const flushing = ledger.flush().then(() => (flushed = true));
      // The writer thread is waiting on the lock, retrying; the main thread keeps serving calls.
      for (let i = 0; i < 10; i++) await client.send(new ConverseCommand(input));
      await new Promise((r) => setTimeout(r, 300));
      expect(flushed).toBe(false);
      expect(ledger.written).toBe(0);
      // Nothing was dropped: the records wait for the lock.
      expect(ledger.dropped).toBe(0);
      lock.exec('COMMIT');
      await flushing;
    } finally {
      lock.close();
    }
    await ledger.flush();
    expect(ledger.written).toBe(20);
    await finops.shutdown();
    const back = await readLedger(path);
    expect(back.records).toEqual(records);
  });

  it('stores the header in its own table, where the report finds it', async () => {
    const path = join(dir, 'header.db');
    const ledger = await sqliteLedger({ path, flushIntervalMs: 5 });
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/p1';
    ledger.describe?.({ provisioned: { [arn]: { modelUnits: 3, hourlyCostUsd: 60 } } });
    ledger.write({ operation: 'Converse', requestedModelId: arn, modelId: arn, modelKind: 'provisioned-model', baseModelId: undefined, attribution: {}, inputTokens: 1, outputTokens: 1, cacheReadInputTokens: 0, cacheWriteInputTokens: 0, cacheWrite1hInputTokens: 0, speechInputTokens: 0, speechOutputTokens: 0, serviceTier: undefined, performanceLatency: undefined, usageSource: 'usage', costUsd: 0, onDemandEquivalentUsd: 0.001, durationMs: 1, timeToFirstChunkMs: undefined, startedAt: Date.UTC(2026, 10, 20), fallback: undefined, outcome: 'success', error: undefined, requestId: undefined });
    await ledger.close();
    const headers: unknown[] = [];
    const s = await readLedgers([path], { record: () => undefined, header: (h) => headers.push(h) });
    expect(s.records).toBe(1);
    expect(headers).toEqual([expect.objectContaining({ type: 'bedrock-finops.header', provisioned: { [arn]: { modelUnits: 3, hourlyCostUsd: 60 } } })]);
  });

  it('refuses a path it cannot open at construction, naming the field', async () => {
    await expect(sqliteLedger({ path: join(dir, 'no-such-dir', 'x.db') })).rejects.toThrow(/sqliteLedger\.path/);
  });
});
