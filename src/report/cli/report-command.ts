import { parseArgs } from 'node:util';
import { readLedgers } from '../../ledger/read-ledger.js';
import { BUILT_IN_DIMENSIONS, NONE, parseBy } from '../dimensions.js';
import { skippedNote } from '../format.js';
import { renderCsv } from '../render-csv.js';
import { renderHtml } from '../render-html.js';
import { renderText } from '../render-text.js';
import { ReportBuilder } from '../report-builder.js';
import type { Report } from '../types.js';
import { readConfigFile } from './config-file.js';
import { emit } from './output.js';
import { reportProblems } from './read-problems.js';
import { parseWindow, UsageError } from './usage-error.js';

export const REPORT_USAGE = `usage: bedrock-finops report <ledger>... [options]

  <ledger>      JSON Lines (.jsonl, .jsonl.gz; a path brings its rotated files) or SQLite (.db,
                .sqlite) ledgers; quote globs to merge a fleet's files: 'ledgers/*.jsonl'
  --by <dims>   a breakdown table; repeat for several; a comma groups by the combination:
                --by team,model (team × model)  --by team --by day (two tables)
                dimensions: attribution keys, model, day, hour, operation, outcome, tier
                (default: team, feature, model and day, one table each)
  --since <t>   only calls at or after t (2026-11-20 or 2026-11-20T09:00:00Z, UTC)
  --until <t>   only calls before t
  --format <f>  text (default), json, csv (the breakdowns) or html (one self-contained page)
  --out <file>  write to a file instead of stdout
  --json        same as --format json
  --html <file> write the HTML page to <file> (same as --format html --out <file>)
  --config <f>  JSON { "provisioned": { "<arn>": { "modelUnits", "hourlyCostUsd",
                "tokensPerMinutePerUnit" } } } over what the ledgers' headers say
  --allow-partial
                exit 0 when some records could not be read (torn or mistyped lines, a
                truncated or corrupt .gz); without it the report is still written, the
                damaged files are named on stderr, and the exit code is 3
  -h, --help    this text
`;

const FORMATS = ['text', 'json', 'csv', 'html'] as const;
type Format = (typeof FORMATS)[number];

/** `--by` dimensions no call has (attribution keys are open-ended, so a typo is only seen in the data). */
function absentKeys(report: Report): string[] {
  const dims = new Set(report.breakdowns.flatMap((b) => b.dimensions).filter((d) => !Object.hasOwn(BUILT_IN_DIMENSIONS, d)));
  return [...dims].filter((d) => report.breakdowns.every((b) => !b.dimensions.includes(d) || b.rows.every((r) => r.keys[d] === NONE)));
}

/** `bedrock-finops report`: reads every ledger given (streaming), prints the report. */
export async function reportCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      by: { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      html: { type: 'string' },
      config: { type: 'string' },
      'allow-partial': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(REPORT_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('no ledger given');
  if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`--format ${values.format}: use ${FORMATS.join(', ')}`);
  if (values.json === true && values.format !== undefined && values.format !== 'json') throw new UsageError(`--json contradicts --format ${values.format}`);
  const by = values.by === undefined ? undefined : parseBy(values.by);
  if (by !== undefined && by.length === 0) throw new UsageError('--by: name at least one dimension');
  const window = parseWindow(values.since, values.until);
  const provisioned = await readConfigFile(values.config);
  const builder = new ReportBuilder({ ...(by === undefined ? {} : { by }), provisioned, ...window });
  const read = await readLedgers(positionals, builder, window);
  const report: Report = { ...builder.build(), input: { files: read.files, records: read.records, torn: read.torn, mistyped: read.mistyped, skipped: read.torn + read.mistyped, outside: read.outside, retried: read.retried, duplicates: read.duplicates, problems: read.problems, partial: read.partial } };

  if (values.html !== undefined) await emit(renderHtml(report), values.html);
  const format: Format | undefined = values.json === true ? 'json' : (values.format as Format | undefined);
  if (format !== undefined || values.html === undefined) {
    const f = format ?? 'text';
    const text = f === 'json' ? `${JSON.stringify(report, null, 2)}\n` : f === 'csv' ? renderCsv(report) : f === 'html' ? renderHtml(report) : renderText(report);
    await emit(text, values.out);
  }
  const skipped = skippedNote(report);
  if (skipped !== undefined) process.stderr.write(`${skipped}\n`);
  if (read.records === 0) process.stderr.write(`no calls in the window: ${read.outside} records lie outside it\n`);
  else if (by !== undefined) for (const key of absentKeys(report)) process.stderr.write(`--by ${key}: no call has the attribution key ${key} (a typo?); its rows read ${NONE}\n`);
  return reportProblems(read, values['allow-partial'] === true);
}
