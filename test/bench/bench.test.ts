import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npm run bench -- --smoke', () => {
  it('runs every section of the benchmark, the peer comparison checked span by span (it asserts no timings)', () => {
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/run.ts'), '--smoke'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 420_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    for (const section of [
      '## Per-call overhead next to OpenTelemetry',
      '| Converse |',
      '| InvokeModel |',
      '| ConverseStream',
      "## The plugin's own work per call",
      '## Where the added cost goes',
      '| … and one budget on the in-memory store |',
      'For scale: reading 64 KiB of memory after a bare call',
      'Promises created per call',
      '## Instructions per call (cachegrind)',
      'Smoke run (5 calls after 5',
      '## Fresh processes',
      '| OTel instrumentation-aws-sdk 0.78 (tracing + metrics) |',
      '## Profile',
      '## Budget stores',
      'In-memory:',
      'Redis (',
      '## Memory under tenant churn',
      "## The plugin's optimized code, by part",
      'Load average at the end',
    ])
      expect(out).toContain(section);
    // The run throws before printing this if a bare or plugin block produced a span, a peer block
    // did not produce one per call, or a plugin did not record every call through its reader.
    expect(out).toMatch(/Checked, not assumed: .*Converse: 40 calls per side; the peer's blocks ended 40 spans/);
    // Promises are counted, not timed: the plugin adds some to each operation.
    expect(out).toMatch(/\| Converse \| [\d,]+ \| [\d,]+ \| \+[1-9]/);
    // The profile summary found the plugin's own functions among the top self-time items.
    expect(out).toMatch(/\| \d+ ms \| [\d.]+% \| `[^`]+` \| `src\//);
    // V8's code log was read: some of the plugin's functions were optimized and sized.
    expect(out).toMatch(/Smoke run \(1000 calls; the sizes mean nothing\): [\d.]+ KiB of optimized code in [1-9]\d* functions/);
  }, 480_000);
});

describe('bench/ab.ts --smoke', () => {
  const run = (...args: string[]): string =>
    execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/ab.ts'), '--smoke', ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
  const ab = (...flags: string[]): string => run(root, ...flags);
  const sides = ['this checkout', 'the other (', 'this checkout, a copy (the control)'];
  const escape = (s: string): string => s.replace(/[()]/g, '\\$&');

  it('runs two builds of the plugin in one process (here this checkout twice) beside the bare client and a control copy (it asserts no timings)', () => {
    const out = ab();
    expect(out).toMatch(/Converse, 1 rounds of 2 × 5-call blocks per side after 5 calls each; CPU time per call against the bare client \(median round\):\n {2}\(every side: a scope per call\)/);
    for (const side of ['bare client', ...sides]) expect(out).toMatch(new RegExp(`${escape(side)}.* [\\d.]+×`));
    // The control ran from a copy of its own, removed when the process ended.
    expect(readdirSync(root).filter((f) => f.startsWith('.ab-control-'))).toEqual([]);
  }, 150_000);

  it('--cold times each build\'s metering middleware around a bare call (its own time only) and alone, warm', () => {
    const out = ab('--cold');
    expect(out).toMatch(/The plugin's metering middleware .* around a bare call, 1 rounds of 3-call blocks per side after 5 calls each/);
    for (const side of sides) expect(out).toMatch(new RegExp(`${escape(side)}.*in place [\\d.]+ µs.* = [\\d.]+ \\+ [\\d.]+ .*warm [\\d.]+ µs`));
    expect(readdirSync(root).filter((f) => f.startsWith('.ab-control-'))).toEqual([]);
  }, 150_000);

  it('--split times whole calls with the plugin beside the bare client and two no-op entries, each entry timed inside them', () => {
    const out = run('--split');
    expect(out).toMatch(/bare client [\d.]+ {3}two timed no-op entries [\d.]+ \([+-][\d.]+\) {3}the plugin, timed [\d.]+ \([+-][\d.]+, [\d.]+×\)\n {2}the plugin's own work: metering middleware [\d.]+, per-attempt hook [\d.]+ {3}the rest beyond the no-op entries [+-][\d.]+/);
    // The timers saw both of the plugin's entries run: each one's own work is more than nothing.
    expect(Number(/metering middleware ([\d.]+)/.exec(out)?.[1])).toBeGreaterThan(0);
    expect(Number(/per-attempt hook ([\d.]+)/.exec(out)?.[1])).toBeGreaterThan(0);
  }, 150_000);

  it('--floor times what a plugin of this shape pays before any work (a scope, two no-op entries, a promise) beside the plugin, against the bare client', () => {
    const out = run('--floor');
    const labels = ['bare client', 'bare client, a scope per call', '+ two no-op entries, added as any entry is', "+ two no-op entries, added as the plugin's", '… the outer one waiting for the answer', 'the plugin (full configuration, a scope per call)', 'bare client, reshapeMiddlewareStack', 'the plugin, reshapeMiddlewareStack'];
    for (const label of labels) expect(out).toMatch(new RegExp(`\\n {2,4}${escape(label).replace('+', '\\+')} +[\\d.]+×`));
    // The first side is the yardstick: its own ratio is 1.
    expect(out).toMatch(/\n {2}bare client +1\.000×/);
  }, 150_000);

  it('--curve times this checkout alone from its first call, window by window (no other checkout needed)', () => {
    const out = run('--curve');
    expect(out).toMatch(/per 5 calls: µs per call of its own work in place \/ of the bare call:\n {2}5: [\d.]+ \/ \d+ {3}10: [\d.]+ \/ \d+\n/);
  }, 150_000);
});
