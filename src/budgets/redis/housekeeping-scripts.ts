/**
 * The budget store's small scripts (window pruning, the eviction-policy check, the reachability
 * probe) and the `Script` shape every script is sent by; the counter scripts are in `scripts.ts`.
 */
/** KEYS: a budget's window index. ARGV: cutoff (ms). Returns up to 32 counter ids whose window ended before the cutoff. */
export const EXPIRED_WINDOWS_SCRIPT = `
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 32)
`;

/** KEYS: a budget's window index, then counter hash and holder set per counter. ARGV: the counter ids. Deletes them. */
export const DELETE_WINDOWS_SCRIPT = `
for e = 1, #ARGV do
  redis.call('DEL', KEYS[2 * e], KEYS[2 * e + 1])
  redis.call('ZREM', KEYS[1], ARGV[e])
end
return #ARGV
`;

/** KEYS: any key (routes the script to that key's node). Returns the server's `maxmemory_policy`. */
export const POLICY_SCRIPT = `
local info = redis.call('INFO', 'memory')
return string.match(info, 'maxmemory_policy:(%S+)') or ''
`;

/** KEYS: any key (routes the script to that key's node). Answers 1: asks whether that part of Redis answers, changing nothing. */
export const PROBE_SCRIPT = `
return 1
`;

/** A script with its SHA-1, pinned (a test recomputes it): what EVALSHA runs it by. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

export const EXPIRED_WINDOWS: Script = { name: 'expired-windows', source: EXPIRED_WINDOWS_SCRIPT, sha: 'b28621dcc47cc97ee8a67f56cd8f5fe3e0f01b7b' };
export const DELETE_WINDOWS: Script = { name: 'delete-windows', source: DELETE_WINDOWS_SCRIPT, sha: 'daf16b995e89af97a827264e58e4eea89da801c9' };
export const POLICY: Script = { name: 'policy', source: POLICY_SCRIPT, sha: '5d5a18534e830308a61cccc3babfe9b7fd0b3b74' };
export const PROBE: Script = { name: 'probe', source: PROBE_SCRIPT, sha: '193cde15ebb0d8c62558e5f95c238b87e60b3992' };
