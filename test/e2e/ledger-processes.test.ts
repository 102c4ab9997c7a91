import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLedger } from '../../src/ledger/index.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const child = join(import.meta.dirname, 'fixtures/ledger-child.ts');
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-procs-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ids = async (path: string): Promise<string[]> => (await readLedger(path)).records.map((r) => r.requestId ?? '');

describe('ledgers across processes', () => {
  it('two processes appending to and rotating one JSON Lines file lose nothing and duplicate nothing', async () => {
    const path = join(dir, 'shared', 'usage.jsonl');
    const n = 3_000;
    // ~20 KB files: each process rotates the shared file dozens of times while the other appends.
    await Promise.all(['a', 'b'].map((p) => run(tsx, [child, 'jsonl', path, String(n), 'shutdown', p, '20000'])));
    const files = readdirSync(join(dir, 'shared'));
    expect(files.length).toBeGreaterThan(20);
    const got = await ids(path);
    expect(got).toHaveLength(2 * n);
    expect(new Set(got).size).toBe(2 * n);
    for (const p of ['a', 'b']) expect(got.filter((id) => id.startsWith(`${p}-`))).toHaveLength(n);
  }, 120_000);

  it.each(['exit', 'natural'] as const)('a JSON Lines ledger never shut down writes every buffered record when the process ends (%s)', async (mode) => {
    const path = join(dir, `exit-${mode}.jsonl`);
    const { stderr } = await run(tsx, [child, 'jsonl', path, '5000', mode, mode]);
    expect(stderr).toBe('');
    const got = await ids(path);
    expect(got).toHaveLength(5_000);
    expect(got.at(-1)).toBe(`${mode}-4999`);
  }, 60_000);

  it('a script that awaits close() of a SQLite ledger ends normally: waiting keeps the process alive, the idle writer thread does not', async () => {
    const path = join(dir, 'closed.db');
    // Before the fix the await never settled (exit code 13): the unreferenced writer thread let the loop end.
    await run(tsx, [child, 'sqlite', path, '500', 'shutdown', 'closed']);
    expect(await ids(path)).toHaveLength(500);
  }, 60_000);

  it('a SQLite ledger never shut down hands its buffer to the writer thread at exit and waits for it', async () => {
    const path = join(dir, 'exit.db');
    await run(tsx, [child, 'sqlite', path, '2000', 'exit', 'db']);
    const got = await ids(path);
    expect(got).toHaveLength(2_000);
    expect(new Set(got).size).toBe(2_000);
  }, 60_000);
});
