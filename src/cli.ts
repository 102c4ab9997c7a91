#!/usr/bin/env node
/**
 * `npx bedrock-finops report <ledgers…>` prints the FinOps report; `npx bedrock-finops export
 * <ledgers…> --format focus` writes FOCUS rows. Exit codes: 0 done, 1 a ledger could not be
 * read (missing, a directory, unreadable, empty: the message names it), 2 a usage mistake
 * (unknown flag, bad value), 3 written, but some records could not be read (torn or mistyped
 * lines, a truncated or corrupt .gz: stderr names the files; `--allow-partial` makes it 0).
 */
import { LedgerInputError } from './ledger/inputs.js';
import { EXPORT_USAGE, exportCommand } from './report/cli/export-command.js';
import { REPORT_USAGE, reportCommand } from './report/cli/report-command.js';
import { UsageError } from './report/cli/usage-error.js';

const USAGE = `usage: bedrock-finops <command> [options]

commands:
  report <ledger>...                  the FinOps report (text, json, csv, html)
  export <ledger>... --format focus   FinOps FOCUS 1.2 rows (CSV or Parquet)

Run \`bedrock-finops <command> --help\` for a command's options.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? process.stderr : process.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = command === 'report' ? reportCommand : command === 'export' ? exportCommand : undefined;
  if (run === undefined) {
    process.stderr.write(`bedrock-finops: unknown command ${command}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (error) {
    if (error instanceof LedgerInputError) {
      process.stderr.write(`bedrock-finops ${command}: ${error.message}\n`);
      return 1;
    }
    // parseArgs' own errors (unknown option, missing value) are usage mistakes too.
    const code = (error as { code?: unknown }).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`bedrock-finops ${command}: ${error instanceof Error ? error.message : String(error)}\n\n${command === 'report' ? REPORT_USAGE : EXPORT_USAGE}`);
      return 2;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bedrock-finops: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
