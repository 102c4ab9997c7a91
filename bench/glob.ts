/**
 * How long matching a budget/policy glob takes against hostile attribution values:
 * `npx tsx bench/glob.ts` (`--smoke` for a short run). Prints a table; asserts nothing.
 * The old regex translation is timed beside it only where it finishes (few stars, short values).
 */
import { compileGlob } from '../src/budgets/glob.js';
import { fmt, median } from './stats.js';

const smoke = process.argv.includes('--smoke');

function regexGlob(pattern: string): (value: string) => boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (value) => re.test(value);
}

/** Median µs per match over `rounds` rounds of `perRound` calls. */
function time(match: (value: string) => boolean, value: string, perRound: number, rounds: number): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) if (match(value)) sink++;
    samples.push(Number(process.hrtime.bigint() - t0) / 1_000 / perRound);
  }
  if (sink < 0) console.log(sink);
  return median(samples);
}

/**
 * A glob with `stars` stars whose prefix, suffix and most segments match `a…ab`, but one middle
 * segment (`c`) never occurs: a backtracking matcher tries every split before failing.
 */
const hostile = (stars: number): string => `a${'*a'.repeat(stars - 2)}*c*b`;

const cases: { stars: number; length: number; regex: boolean }[] = [
  { stars: 2, length: 64, regex: true },
  { stars: 3, length: 64, regex: true },
  { stars: 4, length: 64, regex: true },
  { stars: 5, length: 32, regex: true },
  { stars: 5, length: 128, regex: false },
  { stars: 10, length: 256, regex: false },
  { stars: 10, length: 4096, regex: false },
  { stars: 50, length: 4096, regex: false },
];

console.log('| glob | value | linear matcher µs/match | regex µs/match |');
console.log('|---|---|---|---|');
for (const c of cases) {
  const pattern = hostile(c.stars);
  const value = `${'a'.repeat(c.length - 1)}b`;
  const perRound = smoke ? 10 : 2_000;
  const rounds = smoke ? 3 : 15;
  const linear = time(compileGlob(pattern), value, perRound, rounds);
  const regex = c.regex ? fmt(time(regexGlob(pattern), value, smoke ? 1 : 5, smoke ? 1 : 3), 1) : 'not run (exponential)';
  console.log(`| \`${pattern.length > 24 ? `${pattern.slice(0, 12)}…${pattern.slice(-8)}` : pattern}\` (${c.stars} stars) | \`a…ab\` (${c.length} chars) | ${fmt(linear, 3)} | ${regex} |`);
}
