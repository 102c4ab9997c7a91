import type { LedgerReadSummary } from '../../ledger/read-ledger.js';
import { isLoss, type LedgerFileProblem } from '../../ledger/read-types.js';
import { int } from '../format.js';

/** Exit code of a report or export written from ledgers some of whose records could not be read. */
export const PARTIAL_EXIT = 3;

/** Problem lines printed; a fleet with thousands of damaged files gets a count for the rest. */
const MAX_LINES = 20;

// A file name as JSON escapes it: a name with newlines or terminal escapes prints as one plain line.
const printable = (file: string): string => JSON.stringify(file).slice(1, -1);

function line(p: LedgerFileProblem): string {
  const parts: string[] = [];
  if (p.damage !== undefined) {
    const truncated = /unexpected end of file/i.test(p.damage);
    const unread = truncated ? '; the file ends early (truncated): what it held after that is lost' : p.unreadBytes !== undefined && p.unreadBytes > 0 ? `; at least ${int(p.unreadBytes)} of its ${int(p.size ?? 0)} bytes never read` : '';
    parts.push(`damaged (${p.damage}): ${int(p.records)} records read from it, the rest could not be${unread}`);
  }
  if (p.torn > 0) parts.push(`${int(p.torn)} torn lines (${int(p.tornBytes)} bytes) not counted`);
  const headers = p.tornHeaders ?? 0;
  if (headers > 0) parts.push(`${headers === 1 ? 'one of them a ledger header' : `${int(headers)} of them ledger headers`} never written whole: the provisioned commitments ${headers === 1 ? 'it' : 'they'} carried are missing unless another file's header has them (--config can give them)`);
  if (p.mistyped > 0) parts.push(`${int(p.mistyped)} lines with wrong field types or absurd values not counted`);
  if (p.vanished === true) parts.push('deleted while the report ran (a retention): not counted, not a loss');
  if (p.truncatedWhileRead === true) parts.push('truncated while the report read it (a copytruncate rotation?): what it held counted once, what was written after it too; not a loss');
  return `${printable(p.file)}: ${parts.join('; ')}`;
}

/**
 * Says on stderr which files were not counted whole and why, and returns the exit code: a
 * report from ledgers that lost records is written, but exits {@link PARTIAL_EXIT} unless
 * `--allow-partial` accepts it (a total that silently undercounts is worse than a failed run).
 */
export function reportProblems(read: LedgerReadSummary, allowPartial: boolean): number {
  const shown = read.problems.slice(0, MAX_LINES);
  for (const p of shown) process.stderr.write(`${line(p)}\n`);
  if (read.problems.length > shown.length) process.stderr.write(`… and ${int(read.problems.length - shown.length)} more files (--json lists them all under input.problems)\n`);
  // Not losses, but said: the ledger holds lines no total counts as written.
  if (read.retried > 0) process.stderr.write(`${int(read.retried)} torn line${read.retried === 1 ? '' : 's'} left by a write that failed part-way (a full disk) and was retried whole after ${read.retried === 1 ? 'it' : 'them'}: each record counted once, nothing lost\n`);
  if (read.duplicates > 0) process.stderr.write(`${int(read.duplicates)} record${read.duplicates === 1 ? '' : 's'} read twice (the same record id: written again after a rotation, or a file given twice): counted once\n`);
  if (!read.partial) return 0;
  const lost = read.problems.filter(isLoss);
  const what = `records in ${int(lost.length)} ledger file${lost.length === 1 ? '' : 's'} could not be read (above), so the totals undercount`;
  if (allowPartial) {
    process.stderr.write(`partial input accepted (--allow-partial): ${what}\n`);
    return 0;
  }
  process.stderr.write(`incomplete: ${what}; exit code ${PARTIAL_EXIT} (pass --allow-partial to accept partial input)\n`);
  return PARTIAL_EXIT;
}
