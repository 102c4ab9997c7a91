/**
 * Every TypeScript code block in README.md is type-checked and run, straight from the README
 * (extracted at test time, so there is no copy that can drift).
 *
 * How a block is run
 * - Each ```ts block becomes its own module in `.tmp/readme/`, importing `bedrock-finops` the way
 *   the examples do (tsconfig `paths` → `src/`), and runs under tsx in a fresh empty directory
 *   (files it writes, such as `./usage.jsonl`, land there).
 * - Bedrock is the bundled simulator, started here: every `new BedrockRuntimeClient(...)` without
 *   an `endpoint` reaches it through `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, with dummy credentials
 *   and `AWS_REGION=us-east-1` from the environment. `REDIS_URL` points at a real redis-server.
 *   A block that starts its own simulator (the quickstart) just uses it.
 * - A block may be a fragment: names it uses without defining (`client`, `input`, `budgets`,
 *   `req`, `handler`, and the library's and the SDK's exports) are found by the type checker and
 *   declared from `PRELUDE` below, ahead of the block. A name that is in neither fails the test:
 *   define it in the block, or add it to `PRELUDE`.
 * - The block passes when it type-checks without errors under the project's tsconfig and its
 *   module finishes (top-level await included) without throwing; the process then exits, so
 *   handles a fragment leaves open (a Redis connection, a ledger) do not hang it.
 *
 * Opting out (sparingly: every opt-out is listed in `OPT_OUTS` and the test fails if the README
 * and that list disagree). Put an HTML comment on the line before the fence:
 * - `<!-- readme-test: no-run REASON -->` type-checks the block but does not run it;
 * - `<!-- readme-test: skip REASON -->` neither (e.g. it imports a package this repo does not install).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBedrockSimulator, type BedrockSimulator } from '../../src/testing/index.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, '.tmp/readme');
const exec = promisify(execFile);

/** Declarations a fragment may use without defining. Aliased imports, so they never clash with the block's own. */
const PRELUDE: Readonly<Record<string, string>> = {
  client: [
    "import { BedrockRuntimeClient as PreludeClient } from '@aws-sdk/client-bedrock-runtime';",
    "const client = new PreludeClient({ region: 'us-east-1' });",
  ].join('\n'),
  input: [
    "import type { ConverseCommandInput as PreludeInput } from '@aws-sdk/client-bedrock-runtime';",
    "const input: PreludeInput = { modelId: 'us.amazon.nova-micro-v1:0', messages: [{ role: 'user', content: [{ text: 'hello' }] }], inferenceConfig: { maxTokens: 32 } };",
  ].join('\n'),
  budgets: [
    "import type { BudgetRule as PreludeBudgetRule } from 'bedrock-finops';",
    "const budgets: PreludeBudgetRule[] = [{ name: 'readme-daily', limit: { tokens: 1_000_000 }, window: 'day' }];",
  ].join('\n'),
  req: "const req = { tenantId: 'acme' };",
  handler: 'const handler = async (): Promise<void> => {};',
  BedrockRuntimeClient: "import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';",
  ConverseCommand: "import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';",
  bedrockFinOps: "import { bedrockFinOps } from 'bedrock-finops';",
  withAttribution: "import { withAttribution } from 'bedrock-finops';",
  attribute: "import { attribute } from 'bedrock-finops';",
};

/** Blocks that opt out, by their first code line: keep this list short and say why in the README marker. */
const OPT_OUTS: readonly { readonly mode: 'skip' | 'no-run'; readonly firstLine: string }[] = [
  // Imports @aws-sdk/client-bedrock (the control-plane client), which this repo does not install, and needs an AWS account.
  { mode: 'skip', firstLine: "import { BedrockClient, GetInferenceProfileCommand } from '@aws-sdk/client-bedrock';" },
];

interface Block {
  /** 1-based README line of the opening fence. */
  readonly line: number;
  readonly code: string;
  readonly mode: 'run' | 'skip' | 'no-run';
  readonly file: string;
}

function readmeBlocks(): Block[] {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i] ?? '')) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    const marker = /^<!-- readme-test: (skip|no-run) .+-->$/.exec(lines.slice(0, i).reverse().find((l) => l.trim() !== '') ?? '');
    blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n'), mode: (marker?.[1] as 'skip' | 'no-run' | undefined) ?? 'run', file: join(dir, `block-line-${i + 1}.ts`) });
    i = end;
  }
  return blocks;
}

function compilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (parsed === undefined) throw new Error('cannot read tsconfig.json');
  return { ...parsed.options, noEmit: true };
}

function diagnostics(files: readonly string[], options: ts.CompilerOptions): Map<string, string[]> {
  const program = ts.createProgram(files, options);
  const byFile = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const name = d.file?.fileName;
    if (name === undefined || !byFile.has(name)) continue;
    byFile.get(name)?.push(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }
  return byFile;
}

const blocks = readmeBlocks();
const checked = blocks.filter((b) => b.mode !== 'skip');
let errors = new Map<string, string[]>();
let sim: BedrockSimulator;
let redis: RedisServer;

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const options = compilerOptions();
  for (const b of checked) writeFileSync(b.file, b.code);
  // First pass: which names does each fragment use without defining?
  const missing = diagnostics(checked.map((b) => b.file), options);
  for (const b of checked) {
    const names = [...new Set((missing.get(b.file) ?? []).flatMap((m) => /^(?:Cannot find name|No value exists in scope for the shorthand property) '([^']+)'/.exec(m)?.[1] ?? []))];
    const prelude = names.map((n) => PRELUDE[n] ?? `// no PRELUDE entry for '${n}': define it in the block or add it to PRELUDE in test/e2e/readme.test.ts`);
    writeFileSync(b.file, `${prelude.join('\n')}\n${b.code}\nprocess.exit(0);\n`);
  }
  errors = diagnostics(checked.map((b) => b.file), options);
  [sim, redis] = await Promise.all([startBedrockSimulator(), startRedis()]);
}, 120_000);

afterAll(async () => {
  await sim.close();
  await redis.stop();
});

describe('README.md code blocks', () => {
  it('has TypeScript blocks, and opts out exactly the blocks listed in OPT_OUTS', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    const optedOut = blocks.filter((b) => b.mode !== 'run').map((b) => ({ mode: b.mode, firstLine: b.code.split('\n')[0] ?? '' }));
    expect(optedOut).toEqual(OPT_OUTS);
  });

  it.each(checked.map((b) => [b.line, b] as const))('the block at README line %i type-checks', (_line, block) => {
    expect(errors.get(block.file) ?? ['not compiled']).toEqual([]);
  });

  it.each(blocks.filter((b) => b.mode === 'run').map((b) => [b.line, b] as const))(
    'the block at README line %i runs against the simulator',
    async (_line, block) => {
      const cwd = mkdtempSync(join(tmpdir(), 'readme-block-'));
      try {
        const env = {
          ...process.env,
          AWS_ENDPOINT_URL_BEDROCK_RUNTIME: sim.url,
          AWS_ACCESS_KEY_ID: 'readme',
          AWS_SECRET_ACCESS_KEY: 'readme',
          AWS_REGION: 'us-east-1',
          REDIS_URL: redis.url,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        };
        const { stdout } = await exec(join(root, 'node_modules/.bin/tsx'), ['--tsconfig', join(root, 'tsconfig.json'), block.file], { cwd, env, timeout: 60_000 });
        expect(typeof stdout).toBe('string');
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    },
    90_000,
  );
});

describe('the README quickstart', () => {
  it('prints one attributed, priced record from the simulator with a default client', async () => {
    const quickstart = blocks.find((b) => b.mode === 'run' && b.code.includes('startBedrockSimulator'));
    expect(quickstart).toBeDefined();
    const { stdout } = await exec(join(root, 'node_modules/.bin/tsx'), ['--tsconfig', join(root, 'tsconfig.json'), quickstart?.file ?? ''], {
      cwd: root,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      timeout: 60_000,
    });
    expect(stdout).toContain("{ team: 'search', feature: 'autocomplete' } us.amazon.nova-micro-v1:0 4 64 $0.000009");
    expect(quickstart?.code).not.toContain('requestHandler');
  });
});
