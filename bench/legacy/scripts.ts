/**
 * The per-call store's Lua scripts (frozen copy, see ./redis-budget-store.ts). Each runs atomically on the server. Keys per counter
 * entry come in threes: the counter hash (`u_*` used, `r_*` reserved for t(okens), i(nput),
 * o(utput), c(ost)), a sorted set of live reservation ids scored by lease expiry, and a hash of
 * each reservation's amounts. Expired leases are swept (up to 100 per counter per call) whenever
 * a counter is touched (`release` returns a reservation's amounts; sweep and commit share it). Numbers come back as strings: Lua would truncate floats to integers.
 *
 * The SHA-1 of each script is pinned below and checked by a test; EVALSHA is tried first, EVAL
 * on NOSCRIPT.
 */

const SWEEP = `
local function release(c, z, a, rid)
  local amts = redis.call('HGET', a, rid)
  if amts then
    local t, i, o, cc = string.match(amts, '([^,]+),([^,]+),([^,]+),([^,]+)')
    redis.call('HINCRBYFLOAT', c, 'r_t', -tonumber(t))
    redis.call('HINCRBYFLOAT', c, 'r_i', -tonumber(i))
    redis.call('HINCRBYFLOAT', c, 'r_o', -tonumber(o))
    redis.call('HINCRBYFLOAT', c, 'r_c', -tonumber(cc))
    redis.call('HDEL', a, rid)
  end
  redis.call('ZREM', z, rid)
end
local function sweep(c, z, a, now)
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 100)
  for _, rid in ipairs(expired) do release(c, z, a, rid) end
end
local FIELDS = {'u_t', 'u_i', 'u_o', 'u_c', 'r_t', 'r_i', 'r_o', 'r_c'}
local function state(c)
  local v = redis.call('HMGET', c, unpack(FIELDS))
  for k = 1, 8 do if not v[k] then v[k] = '0' end end
  return v
end
local function expire(c, z, a, windowEnd)
  if windowEnd ~= 'inf' then
    local at = tonumber(windowEnd) + 86400000
    redis.call('PEXPIREAT', c, at)
    redis.call('PEXPIREAT', z, at)
    redis.call('PEXPIREAT', a, at)
  end
end
`;

/**
 * KEYS: 3 per entry. ARGV: id, now, leaseExpiresAt, n, then per entry 10 values: enforce (1/0),
 * windowEnd ('inf' or ms), 4 limits ('' when unset), 4 requested amounts (t, i, o, c).
 * Returns { rejectedIndex (1-based, 0 = admitted), rejectedLimit, exceeded ('e:k,e:k'), then 8 state values per entry }.
 */
export const RESERVE_SCRIPT = `${SWEEP}
local id, now, expires, n = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local rejected, rejectedLimit, exceeded = 0, 0, {}
local out = {}
for e = 1, n do
  local c, z, a = KEYS[3 * e - 2], KEYS[3 * e - 1], KEYS[3 * e]
  sweep(c, z, a, now)
  local v = state(c)
  for k = 1, 8 do out[#out + 1] = v[k] end
  local base = 4 + (e - 1) * 10
  local enforce = ARGV[base + 1] == '1'
  for k = 1, 4 do
    local limit = ARGV[base + 2 + k]
    if limit ~= '' then
      local total = tonumber(v[k]) + tonumber(v[k + 4]) + tonumber(ARGV[base + 6 + k])
      if total > tonumber(limit) + 1e-9 then
        if enforce then
          if rejected == 0 then rejected, rejectedLimit = e, k end
        else
          exceeded[#exceeded + 1] = e .. ':' .. k
          break
        end
      end
    end
  end
end
if rejected == 0 then
  for e = 1, n do
    local c, z, a = KEYS[3 * e - 2], KEYS[3 * e - 1], KEYS[3 * e]
    local base = 4 + (e - 1) * 10
    local t, i, o, cc = ARGV[base + 7], ARGV[base + 8], ARGV[base + 9], ARGV[base + 10]
    redis.call('HINCRBYFLOAT', c, 'r_t', t)
    redis.call('HINCRBYFLOAT', c, 'r_i', i)
    redis.call('HINCRBYFLOAT', c, 'r_o', o)
    redis.call('HINCRBYFLOAT', c, 'r_c', cc)
    redis.call('ZADD', z, expires, id)
    redis.call('HSET', a, id, t .. ',' .. i .. ',' .. o .. ',' .. cc)
    expire(c, z, a, ARGV[base + 2])
  end
end
return { tostring(rejected), tostring(rejectedLimit), table.concat(exceeded, ','), unpack(out) }
`;

/**
 * KEYS: the idempotency key, then 3 per entry. ARGV: id, n, then per entry 5 values: windowEnd,
 * 4 actual amounts. Returns { applied (1/0), then 4 used-before and 4 used-after values per entry }.
 */
export const COMMIT_SCRIPT = `${SWEEP}
local id, n = ARGV[1], tonumber(ARGV[2])
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', 172800000) == false then return { '0' } end
local out = { '1' }
for e = 1, n do
  local c, z, a = KEYS[3 * e - 1], KEYS[3 * e], KEYS[3 * e + 1]
  local base = 2 + (e - 1) * 5
  release(c, z, a, id)
  local before = state(c)
  for k = 1, 4 do out[#out + 1] = before[k] end
  local after = {
    redis.call('HINCRBYFLOAT', c, 'u_t', ARGV[base + 2]),
    redis.call('HINCRBYFLOAT', c, 'u_i', ARGV[base + 3]),
    redis.call('HINCRBYFLOAT', c, 'u_o', ARGV[base + 4]),
    redis.call('HINCRBYFLOAT', c, 'u_c', ARGV[base + 5]),
  }
  for k = 1, 4 do out[#out + 1] = after[k] end
  expire(c, z, a, ARGV[base + 1])
end
return out
`;

/** KEYS: 3 per counter. ARGV: now. Returns 8 state values per counter (after sweeping expired leases). */
export const READ_SCRIPT = `${SWEEP}
local now = tonumber(ARGV[1])
local out = {}
for e = 1, #KEYS / 3 do
  local c, z, a = KEYS[3 * e - 2], KEYS[3 * e - 1], KEYS[3 * e]
  sweep(c, z, a, now)
  local v = state(c)
  for k = 1, 8 do out[#out + 1] = v[k] end
end
return out
`;

/** SHA-1 of each script, pinned (a test recomputes them). */
export const RESERVE_SHA = '89349dc7c2c1c61651c975e3c376dd9e30410d6f';
export const COMMIT_SHA = '76ba514ccf77496226bc4b55ed92d054930b5ffb';
export const READ_SHA = 'f11a40e962ce9445070873d985609dc232f3fd85';
