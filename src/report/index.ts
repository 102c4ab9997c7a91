// `bedrock-finops/report`: the FinOps report over ledger records (what `bedrock-finops report` prints) and the FOCUS export.
export { analyze } from './analyze.js';
export type { ReportOptions, ReportProvisioned } from './analyze.js';
export { ReportBuilder } from './report-builder.js';
export type { Report, BreakdownRow, Breakdown, ProvisionedReport, ProvisionedHour, ProvisionedVerdict, Hint, MaxTokensRow, ReportInput } from './types.js';
export type { BreakdownSpec } from './dimensions.js';
export { renderText } from './render-text.js';
export { renderHtml } from './render-html.js';
export { renderCsv } from './render-csv.js';
export { FocusBuilder, rowObject } from './focus/focus-builder.js';
export type { FocusExportOptions, FocusValues } from './focus/focus-builder.js';
export { FOCUS_COLUMNS, X_COLUMNS } from './focus/columns.js';
export type { FocusRow, FocusColumn } from './focus/columns.js';
export { writeFocusCsv, writeFocusCsvFile, writeFocusParquetFile } from './focus/write-focus.js';
