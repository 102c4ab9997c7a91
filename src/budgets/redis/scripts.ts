/**
 * The Redis budget store's Lua scripts, as named constants (a test pins their SHA-1s). Each runs
 * atomically and touches the keys of one counter only (all under one budget's hash tag), so they
 * work unchanged on Redis Cluster.
 *
 * Per counter, two keys, neither with a TTL (see the README: `maxmemory-policy`):
 * - `c` a hash: `u_t u_i u_o u_c` committed usage (tokens, input, output, nano-USD) and
 *   `l_t l_i l_o l_c` room currently leased to processes; `pv` (until when the counter is
 *   provisional: see `LEASE_SCRIPT`); after Redis lost the counter, `rcv` (until
 *   when it recovers), `f_t f_i f_o f_c` and `q_t q_i q_o q_c` (see `LEASE_SCRIPT`); plus one field `h:<holder>` per process
 *   slice: `seq live g_t g_i g_o g_c r_t r_i r_o r_c forget ttl` (last applied sequence number, whether the
 *   slice is live, the room it holds beyond its reported usage, its cumulative reported usage,
 *   the holder's own `idempotencyMs`: a record another process sweeps is kept that long, not the
 *   sweeper's, or the holder would find it gone and take the counter for lost; and its `sliceTtlMs`).
 * - `z` a sorted set of holders: a live slice scored by when it expires, an ended one by when its
 *   record is forgotten. Every script sweeps a few due entries first (the lease script rebuilds the
 *   set from the `h:` records when Redis lost it alone).
 * Per budget, its window index `w` and its marker `m` (a string, no TTL: see `LEASE_SCRIPT`).
 *
 * All arithmetic is on integers (`HINCRBY`): amounts are tokens and nano-USD, read capped at 2^53 − 1
 * and written as integers (`%d`): a Lua number past 1e17 would reach Redis as `1e+17` and fail the
 * script after some of its writes.
 */

import { DELETE_WINDOWS, EXPIRED_WINDOWS, POLICY, PROBE, type Script } from './housekeeping-scripts.js';
import { COMMON } from './lua-common.js';


/**
 * Leases, renews, flushes or returns one process's slice of one counter: idempotent by
 * (holder, seq) — a re-sent or stale script changes nothing and answers the current state.
 *
 * KEYS: counter hash, holder set, the budget's window index (counter ids by window end, +inf for
 * `total`), the budget's marker. ARGV: holder, seq, ttlMs,
 * forgetMs, final ('1': end the slice if it holds nothing), fraction, windowEnd ('inf' or ms),
 * counter id, then per field (tokens, input, output, nano-USD) 5 values: limit ('' for none),
 * cumulative usage, hold (room the slice must keep: calls in flight and what the process admits
 * while this script is on its way), need (the least extra room worth having), want (extra room
 * the waiting calls need); then per field the most committed usage the process has seen on this
 * counter, '1' when Redis has answered this holder before, and per field the usage of this holder
 * Redis had acknowledged ('0' for a new holder).
 *
 * Usage is cumulative per holder, so it is applied as `max(0, reported − already reported)`.
 * Usage Redis lost and nobody reports again (slices given back before the loss) stays counted: a
 * holder that finds Redis's usage below what it saw writes that as the floor (`f_*`), each holder
 * that finds its record lost adds what Redis had acknowledged of it (`q_*`, reported again), and
 * room is counted from usage + `max(0, floor − q)` (never more than the truth: the floor was
 * usage before the loss, `q` the part of it reported again). Before: a process that had given
 * its slice back was leased its own lost usage again, past the limit.
 * Committed usage never falls within a window, so room is counted from the larger of Redis's and
 * what the process saw: after Redis lost the counter (a restart without persistence, FLUSHALL,
 * eviction) the fleet does not lease the lost usage again while holders report theirs anew. A
 * holder Redis answered before that finds no record of itself tells that Redis lost the counter
 * (unless the counter's window has ended: pruned after `retainMs`, it leases nothing anyway):
 * for half a slice TTL from then (every live slice renews within a third of it, reporting its
 * usage again), the counter is recovering and leases no room beyond `hold` (status 3).
 * The slice becomes `hold + extra`: `extra` is 0 when `need` does not fit in the room nobody
 * holds (status 2, refused), else `min(room, max(want, floor(room × fraction)))`.
 * A counter this script creates is provisional (until `pv`, Redis time) when Redis may have lost it
 * a moment ago with live slices that have not yet reported (a new holder cannot tell): its slices
 * are a sixteenth of the usual share (`room × fraction / 16`, or what the waiting calls want), so a
 * holder new to the counter is not leased a generous slice against an emptied counter before live
 * holders write their floors back (within a renewal, a third of the TTL). Which counters: KEYS[4],
 * the budget's marker, holds when a script first found it missing (first use, or lost with the
 * counters: FLUSHALL, a restart without persistence) and the server run (`run_id`, by INFO; none
 * where the ACL denies INFO, and such a script keeps another run's marker) that set it; set by
 * another run (a restart from a snapshot, a failover: counters created after the snapshot are lost,
 * the marker kept) or found without the window index (lost, with what it listed), it is set again.
 * A counter created within half a slice TTL of it is provisional until then. Later, a missing
 * counter is a new window or `per` value (live slices of one lost with the marker have reported by
 * then): full slices. A missing counter the budget's window index still lists (its window not over;
 * a `total` counter is listed at +inf) was lost on its own (evicted, deleted by hand): it recovers
 * at once, as when a live holder finds its record gone. Nothing is refused for being provisional (a
 * fleet starting a budget pays a few more round trips) unless ARGV[38] (after the per-field
 * acknowledged usage; '' for none) caps it: while provisional, the counter's usage plus all leased
 * room stays within that share of each limit, and room beyond it is not leased (status 3, as while
 * recovering), so what processes new to a lost counter admit before live holders write back is
 * bounded in all, not only per slice.
 * Both deadlines (`pv`, `rcv`) are Redis's wall clock: one lying further ahead than half the
 * asking process's slice TTL was set before the clock stepped back, and is counted from now again
 * (before, a step back of an hour kept the counter provisional or recovering for that hour). A
 * process with a shorter `sliceTtlMs` shortens the period another set to its own half TTL.
 *
 * Returns: status (0 already applied, 1 applied, 2 applied but refused, 3 applied but
 * recovering: no room beyond `hold`), then per field u, l,
 * then per field r, g (the holder's reported usage and slice), then 1 if Redis had lost the counter,
 * then per field the usage Redis lost that nobody reports again (`max(0, floor − q)`: what room is
 * counted from beyond `u`).
 */
export const LEASE_SCRIPT = `${COMMON}
-- A deadline (ms, Redis time) the lease script sets \`span\` ahead; one further ahead was set before
-- Redis's clock stepped back (TIME is the wall clock): it is counted from now again, not kept
-- for the length of the step.
local function until_time(c, f, now, span)
  local t = tonumber(redis.call('HGET', c, f) or '0') or 0
  if t > now + span then
    t = now + span
    redis.call('HSET', c, f, string.format('%d', t))
  end
  return t > now
end
local c, z, w, m = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local h, seq = ARGV[1], tonumber(ARGV[2])
local ttl, forget, final, fraction = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6])
local now = now_ms()
local fresh = redis.call('EXISTS', c) == 0
-- The holder set lost alone (evicted): rebuilt from the slice records, or a dead process's slice never went
-- back; a live one due its holder's own TTL later (its record's; older records: half its idempotencyMs, at least that).
if not fresh and redis.call('EXISTS', z) == 0 then
  for _, f in ipairs(redis.call('HKEYS', c)) do
    local v = string.sub(f, 1, 2) == 'h:' and parse(redis.call('HGET', c, f))
    local due = v and (v[2] == 1 and (v[12] or math.floor((v[11] or forget) / 2)) or (v[11] or forget))
    if v then redis.call('ZADD', z, now + due, string.sub(f, 3)) end
  end
end
sweep(c, z, now, forget)
local evicted = false
if fresh then
  -- The budget's marker, '<ms> <run_id>': missing (a first use, or Redis lost it with the counters),
  -- ahead of the clock (a step back), set by another server run (a restart or failover may have
  -- lost counters created after its snapshot, the marker kept) or without the window index (lost
  -- with what it listed), it is set to now. A counter created within half a TTL of it is provisional.
  -- A user the ACL denies INFO (-@dangerous) reads no run, keeps another run's marker, and is not refused INFO (ACL LOG).
  local ok, may = pcall(redis.acl_check_cmd, 'info', 'server')
  local info = (not ok or may) and redis.pcall('INFO', 'server')
  local run = type(info) == 'string' and string.match(info, 'run_id:(%x+)') or ''
  local at, by = string.match(redis.call('GET', m) or '', '^(%d+) ?(%S*)$')
  local born = tonumber(at or '')
  if born == nil or born > now or (run ~= '' and by ~= run) or redis.call('EXISTS', w) == 0 then
    born = now
    redis.call('SET', m, string.format('%d', now) .. ' ' .. run)
  end
  redis.call('HSET', c, 'pv', string.format('%d', born + math.floor(ttl / 2)))
  evicted = (ARGV[7] == 'inf' or num(ARGV[7]) > now) and redis.call('ZSCORE', w, ARGV[8]) ~= false
end
local provisional = until_time(c, 'pv', now, math.floor(ttl / 2))
local rec = redis.call('HGET', c, 'h:' .. h)
-- A \`total\` counter is listed at +inf: never pruned, but known, so one lost on its own is found.
-- Listed by every script (NX: a no-op once listed), so an index Redis lost is rebuilt within a renewal.
redis.call('ZADD', w, 'NX', ARGV[7] == 'inf' and '+inf' or ARGV[7], ARGV[8])
local v = rec and parse(rec) or {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
local s = counter(c)
local lost = evicted or (not rec and ARGV[33] == '1' and (ARGV[7] == 'inf' or num(ARGV[7]) > now))
if lost then redis.call('HSET', c, 'rcv', string.format('%d', now + math.floor(ttl / 2))) end
local recovering = until_time(c, 'rcv', now, math.floor(ttl / 2))
local F, Q = {'f_t', 'f_i', 'f_o', 'f_c'}, {'q_t', 'q_i', 'q_o', 'q_c'}
local fq, gone = redis.call('HMGET', c, 'f_t', 'f_i', 'f_o', 'f_c', 'q_t', 'q_i', 'q_o', 'q_c'), {}
for k = 1, 4 do
  local floor, back, seen = tonumber(fq[k] or '0'), tonumber(fq[4 + k] or '0'), num(ARGV[28 + k])
  if seen > floor and seen > s[k] then
    floor = seen
    redis.call('HSET', c, F[k], string.format('%d', seen))
  end
  if lost and num(ARGV[33 + k]) > 0 then
    back = back + num(ARGV[33 + k])
    redis.call('HSET', c, Q[k], string.format('%d', back))
  end
  gone[k] = math.max(0, floor - back)
end
local status = 1
if seq <= v[1] then
  status = 0
else
  local room, capf, capped = {}, tonumber(ARGV[38] or ''), false
  for k = 1, 4 do
    local b = 8 + (k - 1) * 5
    local d = num(ARGV[b + 2]) - v[6 + k]
    if d > 0 then
      s[k] = incr(c, U[k], d)
      v[6 + k] = v[6 + k] + d
    end
    if ARGV[b + 1] ~= '' then
      room[k] = num(ARGV[b + 1]) - math.max(s[k] + gone[k], num(ARGV[28 + k])) - (s[4 + k] - v[2 + k]) - num(ARGV[b + 3])
      if room[k] < num(ARGV[b + 4]) then status = 2 end
      if provisional and capf then
        local left = math.floor(num(ARGV[b + 1]) * capf) - s[k] - (s[4 + k] - v[2 + k]) - num(ARGV[b + 3])
        if left < room[k] then room[k] = left end
        if left < num(ARGV[b + 4]) then capped = true end
      end
    end
  end
  if (recovering or capped) and status == 1 then status = 3 end
  local holds = false
  for k = 1, 4 do
    local b = 8 + (k - 1) * 5
    local g = 0
    if ARGV[b + 1] ~= '' then
      local extra = 0
      if status == 1 then
        local free = math.max(room[k], 0)
        extra = math.min(free, math.max(num(ARGV[b + 5]), math.floor(free * fraction / (provisional and 16 or 1))))
      end
      g = num(ARGV[b + 3]) + extra
    end
    if g ~= v[2 + k] then s[4 + k] = incr(c, L[k], g - v[2 + k]) end
    v[2 + k] = g
    if g ~= 0 then holds = true end
  end
  v[1] = seq
  v[11], v[12] = forget, ttl
  if final and not holds then
    v[2] = 0
    redis.call('ZADD', z, now + forget, h)
  else
    v[2] = 1
    redis.call('ZADD', z, now + ttl, h)
  end
  redis.call('HSET', c, 'h:' .. h, pack(v))
end
local out = { status }
for k = 1, 8 do out[#out + 1] = s[k] end
for k = 1, 4 do out[#out + 1] = v[6 + k] end
for k = 1, 4 do out[#out + 1] = v[2] == 1 and v[2 + k] or 0 end
out[#out + 1] = lost and 1 or 0
for k = 1, 4 do out[#out + 1] = gone[k] end
return out
`;

/**
 * Reads counters (sweeping expired slices first). KEYS: counter hash and holder set per counter.
 * ARGV: forgetMs, then one holder per counter ('' for none). Returns per counter: u ×4, l ×4,
 * the holder's r ×4, g ×4, and the lost usage nobody reports again ×4 (`max(0, f − q)`, see `LEASE_SCRIPT`).
 */
export const READ_SCRIPT = `${COMMON}
local now, forget = now_ms(), tonumber(ARGV[1])
local out = {}
for e = 1, #KEYS / 2 do
  local c, z = KEYS[2 * e - 1], KEYS[2 * e]
  sweep(c, z, now, forget)
  local s = counter(c)
  for k = 1, 8 do out[#out + 1] = s[k] end
  local rec = ARGV[1 + e] ~= '' and redis.call('HGET', c, 'h:' .. ARGV[1 + e])
  local v = rec and parse(rec) or {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  for k = 1, 4 do out[#out + 1] = v[6 + k] end
  for k = 1, 4 do out[#out + 1] = v[2] == 1 and v[2 + k] or 0 end
  local fq = redis.call('HMGET', c, 'f_t', 'f_i', 'f_o', 'f_c', 'q_t', 'q_i', 'q_o', 'q_c')
  for k = 1, 4 do out[#out + 1] = math.max(0, num(fq[k]) - num(fq[4 + k])) end
end
return out
`;

export { DELETE_WINDOWS, EXPIRED_WINDOWS, POLICY, PROBE, type Script };

export const LEASE: Script = { name: 'lease', source: LEASE_SCRIPT, sha: 'd9965022011a49e9a957024a59b347dfd83ae344' };
export const READ: Script = { name: 'read', source: READ_SCRIPT, sha: '909da86451e139bea0bbb3c8e76980b9dd761731' };

/** Every script, for the test that pins their SHA-1s. */
export const SCRIPTS: readonly Script[] = [LEASE, READ, EXPIRED_WINDOWS, DELETE_WINDOWS, POLICY, PROBE];
