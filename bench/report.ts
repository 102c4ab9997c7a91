/**
 * `npm run bench:report`: the report and the FOCUS export at fleet scale, and what the JSON
 * Lines ledger costs the process that writes it. Generates JSON Lines ledgers (2M records in 4
 * files, then 10M in 10 files), runs the real CLI on them under `/usr/bin/time` (wall time, peak
 * RSS) and prints a Markdown section for bench/RESULTS.md. `-- --smoke` runs it on 20,000 records
 * (CI keeps it from rotting; nothing is asserted).
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { jsonlLedger } from '../src/ledger/index.js';
import { usageRecord } from '../test/helpers/usage-records.js';
import { fmt, median } from './stats.js';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const smoke = process.argv.includes('--smoke');
const generateOnly = process.argv.indexOf('--generate');
const dir = generateOnly === -1 ? mkdtempSync(join(tmpdir(), 'bedrock-finops-bench-report-')) : '';
const out: string[] = [];
const log = (s: string) => {
  out.push(s);
  console.log(s);
};

const MODELS = ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'global.anthropic.claude-haiku-4-5-20251001-v1:0', 'us.amazon.nova-lite-v1:0', 'amazon.nova-micro-v1:0', 'us.meta.llama3-3-70b-instruct-v1:0'];
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:provisioned-model/bench0000001';
const TEAMS = ['search', 'support', 'ads', 'growth', 'platform', 'risk'];
const FEATURES = ['chat', 'summarize', 'classify', 'extract', 'agent', 'embed', 'rerank', 'translate', 'triage', 'draft'];

/** One file of `n` records over 14 days, written with a hand-built line (JSON.stringify of 10M records would dominate). */
async function generate(file: string, n: number, seed: number): Promise<number> {
  const stream = createWriteStream(file, { highWaterMark: 1 << 20 });
  const t0 = Date.UTC(2026, 10, 1);
  let s = seed;
  const rnd = () => (s = (s * 48_271) % 2_147_483_647) / 2_147_483_647;
  let bytes = 0;
  let chunk = `${JSON.stringify({ type: 'bedrock-finops.header', writtenAt: new Date(t0).toISOString(), pid: seed, provisioned: { [ARN]: { model: 'anthropic.claude-3-haiku-20240307-v1:0', modelUnits: 1, hourlyCostUsd: 21 } } })}\n`;
  for (let i = 0; i < n; i++) {
    const provisioned = rnd() < 0.05;
    const model = provisioned ? ARN : (MODELS[Math.floor(rnd() * MODELS.length)] ?? '');
    const input = Math.floor(rnd() * rnd() * 20_000);
    const output = Math.floor(rnd() * 800);
    const cacheRead = rnd() < 0.3 ? Math.floor(rnd() * 10_000) : 0;
    const cost = provisioned ? 0 : Math.round((input * 3 + output * 15 + cacheRead * 0.3) * 1e3) / 1e9;
    const at = new Date(t0 + Math.floor((i / n) * 14 * 86_400_000)).toISOString();
    const spill = !provisioned && rnd() < 0.01 ? `,"fallback":{"from":"${ARN}","reason":"ThrottlingException"}` : '';
    chunk += `{"operation":"Converse","requestedModelId":"${model}","modelId":"${model}","modelKind":"${provisioned ? 'provisioned-model' : 'inference-profile'}","attribution":{"team":"${TEAMS[Math.floor(rnd() * TEAMS.length)] ?? ''}","feature":"${FEATURES[Math.floor(rnd() * FEATURES.length)] ?? ''}","tenant":"t${Math.floor(rnd() * 200)}"},"inputTokens":${input},"outputTokens":${output},"cacheReadInputTokens":${cacheRead},"cacheWriteInputTokens":0,"cacheWrite1hInputTokens":0,"usageSource":"usage","costUsd":${cost}${provisioned ? `,"onDemandEquivalentUsd":${(input * 0.25 + output * 1.25) / 1e6}` : ''},"durationMs":${Math.floor(rnd() * 3000)},"startedAt":"${at}"${spill},"outcome":"success","requestId":"r-${seed}-${i}"}\n`;
    if (chunk.length > 1 << 20) {
      bytes += chunk.length;
      if (!stream.write(chunk)) await new Promise<void>((r) => stream.once('drain', () => r()));
      chunk = '';
    }
  }
  bytes += chunk.length;
  await new Promise<void>((r) => {
    stream.end(chunk, () => {
      r();
    });
  });
  return bytes;
}

/** Runs the CLI under /usr/bin/time: wall seconds and peak RSS (MB). */
async function timed(args: string[]): Promise<{ seconds: number; rssMb: number; stdout: string }> {
  const { stdout, stderr } = await exec('/usr/bin/time', ['-f', '%e %M', process.execPath, '--import', 'tsx', join(root, 'src/cli.ts'), ...args], { maxBuffer: 1 << 28, cwd: root });
  const [seconds = 'NaN', kb = 'NaN'] = stderr.trim().split('\n').at(-1)?.split(' ') ?? [];
  return { seconds: Number(seconds), rssMb: Number(kb) / 1024, stdout };
}

async function scale(total: number, files: number, label: string): Promise<void> {
  const paths: string[] = [];
  let bytes = 0;
  const g0 = Date.now();
  for (let f = 0; f < files; f++) {
    const p = join(dir, `${label}-${f}.jsonl`);
    bytes += await generate(p, Math.floor(total / files), f + 1);
    paths.push(p);
  }
  log(`\n### ${total.toLocaleString('en-US')} records in ${files} files (${fmt(bytes / 2 ** 20, 0)} MiB; generated in ${fmt((Date.now() - g0) / 1000)} s)\n`);
  log('| command | wall time | peak RSS | records/s |');
  log('|---|---|---|---|');
  const glob = join(dir, `${label}-*.jsonl`);
  for (const [name, args] of [
    ['`report --format json`', ['report', glob, '--format', 'json']],
    ['`report --by team,model --format csv`', ['report', glob, '--by', 'team,model', '--format', 'csv']],
    ['`export --format focus --tags team,feature --out x.csv`', ['export', glob, '--format', 'focus', '--tags', 'team,feature', '--out', join(dir, `${label}.csv`)]],
  ] as const) {
    const r = await timed([...args]);
    log(`| ${name} | ${fmt(r.seconds)} s | ${fmt(r.rssMb, 0)} MB | ${Math.round(total / r.seconds).toLocaleString('en-US')} |`);
  }
  for (const p of paths) rmSync(p);
}

/** The writer's side: how long one flush (a synchronous append of the batch) holds the event loop. */
function writerCost(): void {
  const path = join(dir, 'writer.jsonl');
  const ledger = jsonlLedger({ path, flushIntervalMs: 3_600_000 });
  const times: number[] = [];
  const perCall: number[] = [];
  for (let round = 0; round < (smoke ? 3 : 30); round++) {
    const w0 = process.hrtime.bigint();
    for (let i = 0; i < 1_000; i++) ledger.write(usageRecord({ startedAt: Date.now(), attribution: { team: 'a', feature: 'b', tenant: `t${i}` }, inputTokens: i, outputTokens: 10, costUsd: 0.0001, requestId: `r${i}` }));
    perCall.push(Number(process.hrtime.bigint() - w0) / 1e3 / 1_000);
    const t0 = process.hrtime.bigint();
    void ledger.flush();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  void ledger.close();
  log(`\nJSON Lines writer: \`write()\` on the call's path ${fmt(median(perCall), 2)} µs per record (a push onto the buffer); one flush of 1,000 records (serialise + one synchronous append, from a timer, off any call's path) holds the event loop ${fmt(median(times), 2)} ms (median of ${times.length}).`);
}

if (generateOnly !== -1) {
  // `--generate <file> <n>`: just write a ledger (for profiling the CLI by hand).
  await generate(process.argv[generateOnly + 1] ?? 'ledger.jsonl', Number(process.argv[generateOnly + 2] ?? 100_000), 1);
  process.exit(0);
}

log(`## Report and export at fleet scale\n\nNode ${process.version}, ${new Date().toISOString().slice(0, 10)}; the CLI as users run it (\`node --import tsx src/cli.ts\`), under \`/usr/bin/time\`. Records over 14 days: 6 teams, 10 features, 200 tenants, 5 models and a provisioned ARN (5% of calls, 1% spills).`);
try {
  if (smoke) await scale(20_000, 2, 'smoke');
  else {
    await scale(2_000_000, 4, 'fleet2m');
    await scale(10_000_000, 10, 'fleet10m');
  }
  writerCost();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log('\n(paste the section above into bench/RESULTS.md)');
