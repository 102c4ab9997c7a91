import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { readLedgers } from '../src/ledger/index.js';
import { renderHtml, renderText, ReportBuilder } from '../src/report/index.js';

/**
 * The FinOps report of the run, from its ledger, as `npx bedrock-finops report` builds it: the
 * provisioned commitment (model units, hourly cost, tokens per minute per unit) comes from the
 * header the plugin wrote into the ledger, so no separate configuration is needed. Also writes
 * the report as an HTML page. Returns the text and the page's absolute path.
 */
export async function reportFromLedger(ledger: string): Promise<{ text: string; html: string }> {
  const builder = new ReportBuilder();
  await readLedgers([ledger], builder);
  const report = builder.build();
  const base = ledger.replace(/-ledger\.jsonl$|\.jsonl$/, '');
  const html = resolve(`${base}-report.html`);
  await mkdir(dirname(html), { recursive: true });
  await writeFile(html, renderHtml(report));
  return { text: renderText(report), html };
}
