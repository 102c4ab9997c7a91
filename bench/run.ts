/**
 * `npm run bench`: what the plugin costs per call, next to the bare client and to OpenTelemetry's
 * aws-sdk instrumentation, in one process; in fresh processes; alone; profiled; on other Node
 * majors; instructions per call under cachegrind; inline-cache misses per call; the size of its optimized code; the budget stores; memory under tenant churn. A full run rewrites the generated part of
 * bench/RESULTS.md (between its markers; the rest of the file is kept).
 * `npm run bench -- --smoke` runs every section briefly (no other Node, no file written; CI keeps
 * it from rotting, no timing is asserted). `--only=overhead,alone` runs some sections;
 * `--json` prints their summary on a `BENCH_JSON` line (how other Node versions report back).
 * The overhead section runs in `--processes=5` fresh processes of `--rounds=7` each (one process
 * with `--json` or `--smoke`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { installPeer } from './peer.js';
import { loadAverage } from './stats.js';

// The instrumentation must hook module loading before the SDK loads: the sections come after.
const peer = installPeer();
const { overhead, overheadTable } = await import('./overhead.js');
const { alone } = await import('./alone.js');
const { decompose, decomposeTable } = await import('./decompose.js');
const { fresh } = await import('./fresh.js');
const { profiling } = await import('./profiling.js');
const { stores } = await import('./stores.js');
const { memory } = await import('./memory.js');
const { nodes } = await import('./nodes.js');
const { instructions } = await import('./instructions.js');
const { icMisses } = await import('./ic-misses.js');
const { codeSize } = await import('./code-size.js');
type RunSummary = import('./nodes.js').RunSummary;
type OverheadRun = import('./overhead.js').OverheadRun;
type DecomposeRun = import('./decompose.js').DecomposeRun;

const smoke = process.argv.includes('--smoke');
const json = process.argv.includes('--json');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const option = (name: string): number | undefined => {
  const value = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return value === undefined ? undefined : Number(value);
};
// The overhead section runs in this many processes (the table gives the median process), each
// `rounds` rounds; a child run (`--json`) measures in its own process.
const processes = option('processes') ?? (smoke || json ? 1 : 5);
const rounds = option('rounds') ?? (processes > 1 ? 7 : undefined);
const section = (name: string): boolean => only === undefined || only.includes(name);
const out: string[] = [];
const log = (...lines: string[]): void => {
  for (const line of lines) {
    if (!json) console.log(line);
    out.push(line);
  }
};

const started = performance.now();
let summary: RunSummary = { node: process.version };
log(
  '# bedrock-finops benchmark',
  '',
  `Node ${process.version}, ${cpus()[0]?.model.trim() ?? 'unknown CPU'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${smoke ? ' (smoke run)' : ''}. Load average (1 / 5 / 15 min) at the start: ${loadAverage()}.`,
  '',
);
/** This run's summary from `processes` child runs of this script measuring `only` (each with `--json`). */
async function inChildren(only: string, extra: string[]): Promise<RunSummary[]> {
  const out: RunSummary[] = [];
  for (let i = 0; i < processes; i++) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), `--only=${only}`, '--json', '--processes=1', ...extra], {
      maxBuffer: 2 ** 24,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
    if (line === undefined) throw new Error(`a ${only} process reported nothing`);
    out.push(JSON.parse(line.slice('BENCH_JSON '.length)) as RunSummary);
  }
  return out;
}

if (section('overhead')) {
  log(`## Per-call overhead next to OpenTelemetry's aws-sdk instrumentation (in process, in-process request handler${processes > 1 ? `; ${processes} processes` : ''})`, '');
  const runs: OverheadRun[] =
    processes <= 1
      ? [await overhead(peer, smoke, rounds)]
      : (await inChildren('overhead', [`--rounds=${rounds ?? 7}`])).map((r) => {
          if (r.overheadRun === undefined) throw new Error('an overhead process reported nothing');
          return r.overheadRun;
        });
  const r = overheadTable(runs, smoke);
  summary = { ...summary, overhead: r.summary, ...(runs.length === 1 ? { overheadRun: runs[0] } : {}) };
  log(...r.lines, '');
}
if (section('alone')) {
  log("## The plugin's own work per call, measured alone", '');
  const r = await alone(smoke);
  summary = { ...summary, alone: r.summary };
  log(...r.lines, '');
}
if (section('decompose')) {
  const runs: DecomposeRun[] =
    processes <= 1
      ? [await decompose(smoke)]
      : (await inChildren('decompose', [])).map((r) => {
          if (r.decomposeRun === undefined) throw new Error('a decompose process reported nothing');
          return r.decomposeRun;
        });
  const only1 = runs.length === 1 ? runs[0] : undefined;
  if (only1 !== undefined) summary = { ...summary, decomposeRun: only1 };
  log(`## Where the added cost goes (in process, CPU time${runs.length > 1 ? `; ${runs.length} processes` : ''})`, '', ...decomposeTable(runs), '');
}
// Only in the parent run: each side runs in its own processes under cachegrind.
if (section('instructions') && !json) log('## Instructions per call (cachegrind)', '', ...(await instructions(smoke)), '');
if (section('ic') && !json) log('## Inline-cache misses per call (where a stack entry costs)', '', ...(await icMisses(smoke)), '');
if (section('code') && !json) log("## The plugin's optimized code, by part", '', ...(await codeSize(smoke)), '');
if (section('fresh')) log('## Fresh processes', '', ...(await fresh(smoke)), '');
if (section('profile')) log("## Profile: the plugin's own work, top self time", '', ...(await profiling(smoke)));
if (section('nodes') && !smoke && !json) log('## Other Node versions', '', ...(await nodes(summary, [22, 24])), '');
if (section('stores')) log('## Budget stores', '', ...(await stores(smoke)), '');
if (section('fleet')) {
  // bench/fleet.ts prints its own markdown section (4 processes, faults, the old per-call design beside).
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fleet.ts', import.meta.url)), '--no-write', ...(smoke ? ['--smoke'] : [])], { maxBuffer: 2 ** 24, timeout: 1_800_000 });
  log('<!-- fleet:begin -->', ...stdout.trimEnd().split('\n'), '<!-- fleet:end -->', '');
}
if (section('memory')) log('## Memory under tenant churn', '', ...(await memory(smoke)), '');
log(`Load average at the end: ${loadAverage()}; the run took ${((performance.now() - started) / 60_000).toFixed(1)} min.`);

if (json) console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
if (!smoke && only === undefined) {
  const file = new URL('./RESULTS.md', import.meta.url);
  const [begin, end] = ['<!-- generated by npm run bench: begin -->', '<!-- generated by npm run bench: end -->'];
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = previous.indexOf(begin);
  const to = previous.indexOf(end);
  const generated = `${begin}\n${out.join('\n')}\n${end}`;
  writeFileSync(file, at >= 0 && to > at ? previous.slice(0, at) + generated + previous.slice(to + end.length) : `${generated}\n${previous}`);
  console.log('\nwritten to bench/RESULTS.md');
}
