import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The better-sqlite3 major version to install on this Node: 13 (Node-API) from Node 22, else 12. */
export function sqliteInstallHint(node: string = process.versions.node): string {
  return `npm install better-sqlite3@${Number(node.split('.')[0]) >= 22 ? 13 : 12}`;
}

/**
 * Why `driver` (a better-sqlite3 version) cannot run on `node`, or undefined when it can.
 * better-sqlite3 12 wraps its objects with the legacy `node::ObjectWrap`, which Node 24.19
 * changed (nodejs/node#65446): a statement finalised after its thread's environment is gone
 * aborts the whole process (SIGABRT), which a ledger's worker thread and the process's exit reach.
 * Version 13 (Node-API) is not affected.
 */
export function sqliteDriverProblem(node: string, driver: string | undefined): string | undefined {
  if (driver === undefined) return undefined; // a version we cannot read: let it run
  const [nodeMajor = 0, nodeMinor = 0] = node.split('.').map(Number);
  const driverMajor = Number(driver.split('.')[0]);
  if (nodeMajor === 24 && nodeMinor >= 19 && driverMajor <= 12)
    return `better-sqlite3 ${driver} aborts the process on Node ${node} (a Node 24.19 change to node::ObjectWrap, nodejs/node#65446); npm install better-sqlite3@13`;
  return undefined;
}

/** The installed better-sqlite3's entry file and version; undefined when it is not installed. */
export function findSqliteDriver(): { entry: string; version: string | undefined } | undefined {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('better-sqlite3');
  } catch {
    return undefined;
  }
  // The package's own package.json, found upward from its entry file (12 has no exports map).
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'better-sqlite3') return { entry, version: typeof pkg.version === 'string' ? pkg.version : undefined };
    } catch {
      /* no package.json here: keep going up */
    }
  }
  return { entry, version: undefined };
}
