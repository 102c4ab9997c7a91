/**
 * Runs `flush` synchronously on the process's `exit` event, for ledgers the application never
 * shut down (a script that ends, `process.exit()`, an uncaught exception). Returns the unhook.
 * One listener serves every ledger, so many ledgers never trip the max-listeners warning.
 */
const flushers = new Set<() => void>();

function runAll(): void {
  for (const flush of flushers) {
    try {
      flush();
    } catch {
      // A ledger that cannot write at exit has nowhere to report it; the others still run.
    }
  }
}

export function onProcessExit(flush: () => void): () => void {
  if (flushers.size === 0) process.on('exit', runAll);
  flushers.add(flush);
  return () => {
    flushers.delete(flush);
    if (flushers.size === 0) process.off('exit', runAll);
  };
}
