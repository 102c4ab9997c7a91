import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecord, writeJsonl } from '../helpers/usage-records.js';

// `report --out` onto a disk that refuses the write part-way. Two ways, each where it can run: a
// tiny tmpfs in a user and mount namespace of its own (`unshare -rm`, no root needed: ENOSPC, the
// real full disk), and everywhere a file-size limit (`ulimit -f`: EFBIG past it; Node ignores
// SIGXFSZ), so the test never depends on what the kernel allows. Before: the report there from the
// last run was truncated to 0 bytes and replaced by as much of the new one as fitted — a cron job's
// page served half a report. Two reports writing one --out at once had the same hazard (each
// truncated the other's file as it wrote).
const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const namespaces = spawnSync('unshare', ['-rm', 'true']).status === 0;
const ways = namespaces ? (['tmpfs', 'ulimit'] as const) : (['ulimit'] as const);
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bedrock-finops-full-disk-'));
  writeJsonl(join(dir, 'usage.jsonl'), Array.from({ length: 200 }, (_, i) => usageRecord({ startedAt: Date.UTC(2026, 10, 20) + i * 60_000, requestId: `r-${i}`, costUsd: 0.001, attribution: { team: `team-${i % 40}`, feature: `feature-${i}` } })));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the CLI (`command`, `OUT` standing for the output path) where `out` held `old`, on a disk
 * with 8 KiB left for the new output (~100 KB); returns what the shell saw, and the files the
 * disk holds besides the filler.
 */
function onFullDisk(way: 'tmpfs' | 'ulimit', name: string, file: string, old: string, command: string[]) {
  const disk = join(dir, `${way}-${name}`);
  mkdirSync(disk);
  const out = join(disk, file);
  const cli = `${tsx} ${join(root, 'src/cli.ts')} ${command.map((a) => (a === 'OUT' ? out : a)).join(' ')}`;
  const script = [
    'set -u',
    ...(way === 'tmpfs'
      ? [`mount -t tmpfs -o size=64k tmpfs ${disk}`, `printf '${old}\\n' > ${out}`, `cat /dev/zero > ${join(disk, 'fill')} 2>/dev/null`, `truncate -s -8K ${join(disk, 'fill')}`, cli]
      : [`printf '${old}\\n' > ${out}`, `(ulimit -f 8; exec ${cli})`]),
    'echo "exit=$?"',
    `echo "out=$(cat ${out})"`,
    `echo "files=$(ls ${disk} | grep -v '^fill$' | tr '\\n' ' ')"`,
  ].join('\n');
  const r = way === 'tmpfs' ? spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 }) : spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  return { out, code: way === 'tmpfs' ? 'ENOSPC' : 'EFBIG', ...r };
}

describe.each(ways)('a report written to a disk that refuses it part-way (%s)', (way) => {
  it('export --out: the previous export stays whole, the partial file is removed, exit 1 naming --out', () => {
    const r = onFullDisk(way, 'export', 'focus.csv', 'OLD EXPORT', ['export', join(dir, 'usage.jsonl'), '--format', 'focus', '--out', 'OUT']);
    // Before: the process died of an unhandled 'error' event (the CSV writer listened for errors only
    // after its rows were written), leaving the first 8 KiB of the new rows in place of the last export.
    expect(r.stdout).toContain('exit=1');
    expect(r.stdout).toContain('out=OLD EXPORT\n');
    expect(r.stdout).toContain('files=focus.csv \n');
    expect(r.stderr).not.toContain("Unhandled 'error' event");
    expect(r.stderr).toContain(`--out ${r.out}: ${r.code}`);
    expect(r.stderr).toContain('the file there is unchanged');
  });

  it('leaves the previous report at --out whole, removes its partial file, and exits 1 naming --out', () => {
    const r = onFullDisk(way, 'report', 'report.html', 'OLD REPORT', ['report', join(dir, 'usage.jsonl'), '--by', 'feature', '--format', 'html', '--out', 'OUT']);
    // Before: out= held the first 8 KiB of the new page (the old report gone), and exit=1.
    expect(r.stdout).toContain('exit=1');
    expect(r.stdout).toContain('out=OLD REPORT\n');
    expect(r.stdout).toContain('files=report.html \n');
    expect(r.stderr).toContain(`--out ${r.out}: ${r.code}`);
    expect(r.stderr).toContain('the file there is unchanged');
  });
});
