/**
 * `node --cpu-prof` over `bench/profile.ts` (the plugin's own work alone), summarised into the
 * top self-time items from the first sample inside the timed loop on (module loading left out).
 * The .cpuprofile files go to a temporary directory and are deleted.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readProfile, selfTimeTable } from './cpuprofile.js';

const exec = promisify(execFile);

async function profileOf(variant: string, calls: number): Promise<{ out: string; table: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cpuprof-'));
  try {
    const script = fileURLToPath(new URL('./profile.ts', import.meta.url));
    const { stdout } = await exec(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', script, variant, String(calls)]);
    // tsx's loader thread writes a profile of its own: the main thread's is the largest.
    const main = readdirSync(dir)
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (main === undefined) throw new Error('node --cpu-prof wrote no profile');
    return { out: stdout.trim(), table: selfTimeTable(readProfile(main), 15, 'aloneBlock') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function profiling(smoke: boolean): Promise<string[]> {
  const calls = smoke ? 1_000 : 20_000;
  const lines: string[] = [];
  for (const [variant, label] of [
    ['producer', "`genAiHistograms: 'producer'`, scope per call (the recommended setup)"],
    ['full', 'default `genAiHistograms: true`, scope per call'],
  ] as const) {
    const { out, table } = await profileOf(variant, calls);
    lines.push(`### ${label}`, '', `\`node --cpu-prof --import tsx bench/profile.ts ${variant} ${calls}\` (${out}; summarised by \`bench/cpuprofile.ts\`):`, '', ...table, '');
  }
  return lines;
}
