import { describe, expect, it } from 'vitest';
import { findSqliteDriver, sqliteDriverProblem, sqliteInstallHint } from '../../src/ledger/sqlite-driver.js';

describe('which better-sqlite3 runs on which Node', () => {
  it('refuses better-sqlite3 12 on Node 24.19 and later, naming the fix', () => {
    expect(sqliteDriverProblem('24.19.0', '12.11.1')).toMatch(/aborts the process on Node 24\.19\.0.*better-sqlite3@13/);
    expect(sqliteDriverProblem('24.21.0', '12.0.0')).toMatch(/nodejs\/node#65446/);
    expect(sqliteDriverProblem('24.30.2', '11.10.0')).toBeDefined();
  });

  it('lets every other pair run: 13 anywhere, 12 below 24.19, and an unreadable version', () => {
    expect(sqliteDriverProblem('24.21.0', '13.2.0')).toBeUndefined();
    expect(sqliteDriverProblem('24.18.0', '12.11.1')).toBeUndefined();
    expect(sqliteDriverProblem('22.23.3', '12.11.1')).toBeUndefined();
    expect(sqliteDriverProblem('20.19.0', '12.11.1')).toBeUndefined();
    expect(sqliteDriverProblem('24.21.0', undefined)).toBeUndefined();
  });

  it('suggests 13 from Node 22 (its engines floor) and 12 on Node 20', () => {
    expect(sqliteInstallHint('20.19.0')).toBe('npm install better-sqlite3@12');
    expect(sqliteInstallHint('22.0.0')).toBe('npm install better-sqlite3@13');
    expect(sqliteInstallHint('24.21.0')).toBe('npm install better-sqlite3@13');
  });

  it('reads the installed driver’s version from its own package.json', () => {
    const found = findSqliteDriver();
    expect(found?.entry).toMatch(/better-sqlite3/);
    expect(found?.version).toMatch(/^1[23]\.\d+\.\d+$/);
  });
});
