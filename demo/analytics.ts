import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { readLedger } from '../src/ledger/index.js';
import { analyze, renderHtml, renderText, type ReportOptions } from '../src/report/index.js';
import { PROVISIONED } from './workload.js';

/** What the report needs to know about the provisioned model (the ledger does not hold it). */
export const REPORT_OPTIONS: ReportOptions = {
  provisioned: { [PROVISIONED.arn]: { modelUnits: PROVISIONED.modelUnits, hourlyCostUsd: PROVISIONED.hourlyCostUsd, tokensPerMinutePerUnit: PROVISIONED.tokensPerMinutePerUnit } },
};

/**
 * The FinOps report of the run, from its ledger (what `npx bedrock-finops report` prints), and
 * the same report as an HTML page. Also writes the report config beside the ledger, so the CLI
 * can reproduce it. Returns the text and the files written (absolute paths).
 */
export async function reportFromLedger(ledger: string): Promise<{ text: string; html: string; config: string }> {
  const { records } = await readLedger(ledger);
  const report = analyze(records, REPORT_OPTIONS);
  const base = ledger.replace(/-ledger\.jsonl$|\.jsonl$/, '');
  const html = resolve(`${base}-report.html`);
  const config = resolve(`${base}-report-config.json`);
  await mkdir(dirname(html), { recursive: true });
  await writeFile(html, renderHtml(report));
  await writeFile(config, `${JSON.stringify(REPORT_OPTIONS, null, 2)}\n`);
  return { text: renderText(report), html, config };
}
