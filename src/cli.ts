#!/usr/bin/env node
/**
 * `npx bedrock-finops report <ledger> [--by team,feature,model,day] [--json] [--html out.html] [--config report.json]`
 * Reads a usage ledger (JSON Lines or SQLite) and prints the FinOps report.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { readLedger } from './ledger/read-ledger.js';
import { analyze, type ReportOptions } from './report/analyze.js';
import { renderHtml } from './report/render-html.js';
import { renderText } from './report/render-text.js';

const USAGE = `usage: bedrock-finops report <ledger.jsonl | ledger.db> [--by team,feature,model,day] [--json] [--html <out.html>] [--config <report.json>]

  --by       dimensions to break cost down by (attribution keys, model, day, operation)
  --json     print the report as JSON
  --html     write a self-contained HTML page with charts
  --config   JSON with { "provisioned": { "<arn>": { "modelUnits", "hourlyCostUsd", "tokensPerMinutePerUnit" } } }
`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const [command, ledger, ...rest] = argv;
  if (command !== 'report' || ledger === undefined || ledger.startsWith('--')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const by = flag(rest, '--by')?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const configPath = flag(rest, '--config');
  const config = configPath === undefined ? {} : (JSON.parse(await readFile(configPath, 'utf8')) as ReportOptions);
  const { records, skipped } = await readLedger(ledger);
  const report = analyze(records, { ...config, ...(by === undefined ? {} : { by }) });
  const html = flag(rest, '--html');
  if (html !== undefined) {
    await writeFile(html, renderHtml(report));
    process.stderr.write(`wrote ${html}\n`);
  }
  if (rest.includes('--json')) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (html === undefined) process.stdout.write(renderText(report));
  if (skipped > 0) process.stderr.write(`skipped ${skipped} unreadable ledger lines\n`);
  return 0;
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
