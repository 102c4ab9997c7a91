import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecord, writeJsonl } from '../helpers/usage-records.js';

// `report --out` onto a disk that fills while it writes (a tiny tmpfs in a user and mount namespace
// of its own: `unshare -rm`, no root needed; skipped where the kernel does not allow it). Before:
// the report there from the last run was truncated to 0 bytes and replaced by as much of the new
// one as fitted — a cron job's page served half a report. Two reports writing one --out at once
// had the same hazard (each truncated the other's file as it wrote).
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const namespaces = spawnSync('unshare', ['-rm', 'true']).status === 0;
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-full-disk-'));
  writeJsonl(join(dir, 'usage.jsonl'), Array.from({ length: 200 }, (_, i) => usageRecord({ startedAt: Date.UTC(2026, 10, 20) + i * 60_000, requestId: `r-${i}`, costUsd: 0.001, attribution: { team: `team-${i % 40}`, feature: `feature-${i}` } })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `command` (the CLI's arguments, `OUT` standing for the file on the full disk) where `out` held `old`; returns what the shell saw. */
function onFullDisk(name: string, old: string, command: string[]) {
  const disk = join(dir, name);
  mkdirSync(disk);
  const out = join(disk, old.startsWith('OLD REPORT') ? 'report.html' : 'focus.csv');
  // 64 KiB of disk: the last output (a line), a filler leaving 8 KiB free, then an output of ~100 KB.
  const script = [
    'set -u',
    `mount -t tmpfs -o size=64k tmpfs ${disk}`,
    `printf '${old}\\n' > ${out}`,
    `cat /dev/zero > ${join(disk, 'fill')} 2>/dev/null`,
    `truncate -s -8K ${join(disk, 'fill')}`,
    `${tsx} ${join(root, 'src/cli.ts')} ${command.map((a) => (a === 'OUT' ? out : a)).join(' ')}`,
    'echo "exit=$?"',
    `echo "out=$(cat ${out})"`,
    `echo "files=$(ls ${disk} | tr '\\n' ' ')"`,
  ].join('\n');
  return { out, ...spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 }) };
}

describe.skipIf(!namespaces)('a report written to a full disk', () => {
  it('export --out: the previous export stays whole, the partial file is removed, exit 1 naming --out', () => {
    const r = onFullDisk('export', 'OLD EXPORT', ['export', join(dir, 'usage.jsonl'), '--format', 'focus', '--out', 'OUT']);
    // Before: the process died of an unhandled 'error' event (the CSV writer listened for errors only
    // after its rows were written), leaving the first 8 KiB of the new rows in place of the last export.
    expect(r.stdout).toContain('exit=1');
    expect(r.stdout).toContain('out=OLD EXPORT\n');
    expect(r.stdout).toContain('files=fill focus.csv \n');
    expect(r.stderr).not.toContain("Unhandled 'error' event");
    expect(r.stderr).toContain(`--out ${r.out}: ENOSPC: no space left on device, write; the file there is unchanged`);
  });

  it('leaves the previous report at --out whole, removes its partial file, and exits 1 naming --out', () => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const out = join(disk, 'report.html');
    // 64 KiB of disk: the last report (12 bytes), a filler leaving 8 KiB free, then a report of ~100 KB.
    const script = [
      'set -u',
      `mount -t tmpfs -o size=64k tmpfs ${disk}`,
      `printf 'OLD REPORT\\n' > ${out}`,
      `cat /dev/zero > ${join(disk, 'fill')} 2>/dev/null`,
      `truncate -s -8K ${join(disk, 'fill')}`,
      `${tsx} ${join(root, 'src/cli.ts')} report ${join(dir, 'usage.jsonl')} --by feature --format html --out ${out}`,
      'echo "exit=$?"',
      `echo "out=$(cat ${out})"`,
      `echo "files=$(ls ${disk} | tr '\\n' ' ')"`,
    ].join('\n');
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
    // Before: out= held the first 8 KiB of the new page (the old report gone), and exit=1.
    expect(r.stdout).toContain('exit=1');
    expect(r.stdout).toContain('out=OLD REPORT\n');
    expect(r.stdout).toContain('files=fill report.html \n');
    expect(r.stderr).toContain(`--out ${out}: ENOSPC`);
    expect(r.stderr).toContain('the file there is unchanged');
  });
});
