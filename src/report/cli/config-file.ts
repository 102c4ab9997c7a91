import { readFile } from 'node:fs/promises';
import type { LedgerProvisioned } from '../../ledger/header.js';
import { fitsNanoUsd } from '../../money.js';
import { UsageError } from './usage-error.js';

const NUMBERS = ['modelUnits', 'hourlyCostUsd', 'tokensPerMinutePerUnit'] as const;
const STRINGS = ['model', 'fallback'] as const;

/**
 * `--config <file>`: `{ "provisioned": { "<arn>": { "modelUnits", "hourlyCostUsd", "tokensPerMinutePerUnit", "model" } } }`,
 * over what the ledger headers say. Strict: an unknown key or a wrong type names the field.
 */
export async function readConfigFile(path: string | undefined): Promise<Record<string, LedgerProvisioned>> {
  if (path === undefined) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--config ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const fail = (field: string, problem: string): never => {
    throw new UsageError(`--config ${path}: ${field} ${problem}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('(top level)', 'must be an object');
  for (const k of Object.keys(raw)) if (k !== 'provisioned') fail(k, 'is not a known key (only "provisioned")');
  const provisioned = (raw as { provisioned?: unknown }).provisioned ?? {};
  if (typeof provisioned !== 'object' || provisioned === null || Array.isArray(provisioned)) return fail('provisioned', 'must be an object keyed by ARN');
  const out: Record<string, LedgerProvisioned> = {};
  for (const [arn, c] of Object.entries(provisioned)) {
    const field = `provisioned["${arn}"]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) return fail(field, 'must be an object');
    const entry: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(c as Record<string, unknown>)) {
      if ((NUMBERS as readonly string[]).includes(k)) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${field}.${k}`, 'must be a positive number');
        // Money is counted in integer nano-USD, as a ledger header's is: past ~$9 million an hour the product lost digits (1e20 printed
        // $99,999,999,999,999,991,433.15 committed) or was no number (1e300 threw out of the report, exit 1); below half a nano-dollar it was 0.
        else if (k === 'hourlyCostUsd' && (!fitsNanoUsd(v) || Math.round(v * 1e9) === 0)) fail(`${field}.${k}`, 'must be between 0.000000001 and 9007199 USD an hour (money is counted in nano-USD)');
      } else if ((STRINGS as readonly string[]).includes(k)) {
        if (typeof v !== 'string' || v.length === 0) fail(`${field}.${k}`, 'must be a model id');
      } else fail(`${field}.${k}`, 'is not a known key');
      entry[k] = v as number | string;
    }
    out[arn] = entry;
  }
  return out;
}
