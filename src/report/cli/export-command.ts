import { parseArgs } from 'node:util';
import { readLedgers } from '../../ledger/read-ledger.js';
import { FocusBuilder } from '../focus/focus-builder.js';
import { writeFocusCsv, writeFocusCsvFile, writeFocusParquetFile } from '../focus/write-focus.js';
import { nanoDecimal } from '../money.js';
import { readConfigFile } from './config-file.js';
import { replaceFile } from './output.js';
import { reportProblems } from './read-problems.js';
import { parseWindow, UsageError } from './usage-error.js';

export const EXPORT_USAGE = `usage: bedrock-finops export <ledger>... --format focus [options]

  Writes the ledgers as FinOps FOCUS 1.2 rows (one per hour × model × service tier ×
  attribution, plus one per hour of each provisioned commitment), for FinOps tools.

  --format focus     the only format (FinOps Open Cost and Usage Specification 1.2)
  --out <file>       .csv (default: CSV on stdout) or .parquet (needs: npm install hyparquet-writer)
  --since <t>        only calls at or after t (2026-11-20 or 2026-11-20T09:00:00Z, UTC)
  --until <t>        only calls before t
  --account-id <id>  BillingAccountId / SubAccountId (default: the account in the ledger's ARNs)
  --region <id>      RegionId for calls whose model id names no region (default: empty)
  --tags <keys>      attribution keys kept in Tags and the grouping, e.g. team,feature
                     (default: every key; per-tenant keys make a row per tenant and hour)
  --granularity <g>  hour (default) or day: the rows' charge period
  --config <file>    provisioned commitments over the ledgers' headers (see report --help)
  --allow-partial    exit 0 when some records could not be read (torn or mistyped lines, a
                     truncated or corrupt .gz); without it the rows are still written, the
                     damaged files are named on stderr, and the exit code is 3
  -h, --help         this text
`;

/** `bedrock-finops export --format focus`: the ledgers as FOCUS rows, CSV or Parquet. */
export async function exportCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string' },
      out: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'account-id': { type: 'string' },
      region: { type: 'string' },
      config: { type: 'string' },
      tags: { type: 'string' },
      granularity: { type: 'string' },
      'allow-partial': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(EXPORT_USAGE);
    return 0;
  }
  if (values.format !== 'focus') throw new UsageError(values.format === undefined ? '--format focus is required' : `--format ${values.format}: the export format is focus`);
  if (positionals.length === 0) throw new UsageError('no ledger given');
  const out = values.out;
  if (out !== undefined && !/\.(csv|parquet)$/i.test(out)) throw new UsageError(`--out ${out}: name a .csv or .parquet file`);
  const window = parseWindow(values.since, values.until);
  const granularity = values.granularity ?? 'hour';
  if (granularity !== 'hour' && granularity !== 'day') throw new UsageError(`--granularity ${granularity}: use hour or day`);
  const tags = values.tags?.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  const builder = new FocusBuilder({ ...window, granularity, ...(tags === undefined ? {} : { tags }), provisioned: await readConfigFile(values.config), ...(values['account-id'] === undefined ? {} : { accountId: values['account-id'] }), ...(values.region === undefined ? {} : { region: values.region }) });
  const read = await readLedgers(positionals, builder, window);
  const rows = builder.values();
  const n = out === undefined ? await writeFocusCsv(rows, process.stdout) : await replaceFile(out, (path) => (/\.parquet$/i.test(out) ? writeFocusParquetFile(rows, path) : writeFocusCsvFile(rows, path)));
  const commitments = builder.commitmentNanoExact > 0n ? ` + $${nanoDecimal(builder.commitmentNanoExact)} provisioned commitments` : '';
  process.stderr.write(`${out === undefined ? '' : `wrote ${out}: `}${n} FOCUS rows from ${read.records} calls; BilledCost $${nanoDecimal(builder.usageNanoExact)}${commitments}\n`);
  if (read.torn + read.mistyped > 0) process.stderr.write(`skipped ${read.torn + read.mistyped} unreadable ledger lines (${read.torn} torn, ${read.mistyped} with wrong field types)\n`);
  return reportProblems(read, values['allow-partial'] === true);
}
