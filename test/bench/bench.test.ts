import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npm run bench -- --smoke', () => {
  it('runs every section of the benchmark (it asserts no timings)', () => {
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'bench/run.ts'), '--smoke'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    for (const section of ['## Per-call overhead', '| Converse |', '| InvokeModel |', '| ConverseStream', "The plugin's own work per call", '## Budget stores', 'In-memory:', 'Redis (', '## Memory under tenant churn'])
      expect(out).toContain(section);
  }, 300_000);
});
