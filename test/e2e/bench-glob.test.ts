import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npx tsx bench/glob.ts --smoke', () => {
  it('times the linear glob matcher on hostile globs up to 50 stars and 4096 characters (it asserts no timings)', () => {
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/glob.ts'), '--smoke'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(out).toContain('| glob | value | linear matcher µs/match | regex µs/match |');
    expect(out).toMatch(/\(10 stars\) \| `a…ab` \(256 chars\) \| \d+\.\d{3} \| not run \(exponential\) \|/);
    expect(out).toMatch(/\(50 stars\) \| `a…ab` \(4096 chars\) \| \d+\.\d{3} \|/);
  });
});
