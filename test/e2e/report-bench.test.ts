import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npm run bench:report -- --smoke', () => {
  it('generates ledgers, runs the report and the FOCUS export on them and prints a results section (no timing asserted)', () => {
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/report.ts'), '--smoke'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(out).toContain('## Report and export at fleet scale');
    expect(out.match(/^\| `(report|export)[^|]*` \| [\d.]+ s \| \d+ MB \|/gm)).toHaveLength(3);
    expect(out).toMatch(/JSON Lines writer: `write\(\)` on the call's path [\d.]+ µs per record/);
  }, 150_000);
});
