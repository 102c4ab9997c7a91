// `bedrock-finops/report`: the FinOps report over ledger records (what `bedrock-finops report` prints).
export { analyze } from './analyze.js';
export type { Report, ReportOptions, ReportProvisioned, BreakdownRow } from './analyze.js';
export { renderText } from './render-text.js';
export { renderHtml } from './render-html.js';
