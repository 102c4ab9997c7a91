import type { Script } from '../../budgets/redis/scripts.js';

/**
 * The Redis quota store's Lua script, as a named constant (a test pins its SHA-1). It touches the
 * keys of one quota only (all under the quota's hash tag), so it works unchanged on Redis Cluster.
 *
 * A slice is a share of the quota's *capacity*, not of a consumable amount: a process may have
 * in use (held by its calls in flight plus charged in its own sliding window) at most the room
 * its slice grants, so the fleet's use never passes the sum of the grants, which the script
 * keeps at or below the limit. Room comes back to a process by itself as its charges leave the
 * window; Redis is asked only to grow or shrink a slice.
 *
 * Keys, neither with a TTL:
 * - `h` a hash: per slice holder `h:<holder>` = `seq live tokens requests team` (last applied
 *   sequence number, 1 while the process renews it, the room granted, the share key value), and
 *   `shrink` = `fraction at` (the fleet's believed share of the limit after Bedrock throttled).
 * - `t` a hash: per team `<team>` = `tokens requests askedAt weight` (room granted to its slices,
 *   when it last asked, its weight in the shares); a team holding nothing that has not asked for
 *   a window is deleted by the next script that reads the table, so it holds recent teams only.
 * - `z` a sorted set of holders: a live slice scored by when it expires unless renewed, an
 *   ended or expired one by when its room returns (a window later: its charges are still in
 *   Bedrock's window until then).
 *
 * ARGV: holder, team, seq, ttlMs, windowMs, weight, floor, limit tokens, limit requests ('' for
 * none), then per field (tokens, requests): hold (what the slice keeps whatever happens: the
 * process's use now plus what it may admit while this script is on its way), need (the least
 * extra room worth having), want (extra room asked for); then final ('1': end the slice, its
 * hold returning a window later), shrink (a fraction of the limit to believe after a throttle, or '').
 *
 * The slice becomes `hold + x` per field: `x = min(room, want)`, where `room` is what the share
 * rule allows the team beyond the hold (the same rule as the in-memory store: never past the
 * limit, beyond the team's guaranteed part only what leaves the other active teams' unused parts
 * free); a `need` larger than `room` is refused (status 2, `x = 0`). The room left over is
 * returned as advice: a process keeps no more unused room at its next renewal, so a team that
 * borrowed gives room back once another team asks.
 *
 * Returns: status (0 already applied, 1 applied, 2 refused), the slice's tokens and requests, the
 * room advice (tokens, requests), the limit believed (tokens, requests or -1), room granted to
 * all slices (tokens, requests), and reclaim (1 when the team holds more than its part while
 * another active team has less than its own: the process must not reuse room its charges free,
 * but ask again, so the room goes back).
 */
export const QUOTA_LEASE_SCRIPT = `
local h, t, z = KEYS[1], KEYS[2], KEYS[3]
local holder, team, seq = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ttl, win, weight, floor = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local lim = { tonumber(ARGV[8]), ARGV[9] ~= '' and tonumber(ARGV[9]) or nil }
local hold = { tonumber(ARGV[10]), tonumber(ARGV[13]) }
local need = { tonumber(ARGV[11]), tonumber(ARGV[14]) }
local want = { tonumber(ARGV[12]), tonumber(ARGV[15]) }
local final, shrink = ARGV[16] == '1', ARGV[17]
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)

local function team_rec(name)
  local v = redis.call('HGET', t, name)
  if not v then return { 0, 0, -1, 1 } end
  local a, b, c, d = string.match(v, '^(%S+) (%S+) (%S+) (%S+)$')
  return { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
end
local function put_team(name, r)
  if r[1] <= 0 and r[2] <= 0 and r[3] <= now - win then redis.call('HDEL', t, name)
  else redis.call('HSET', t, name, string.format('%d %d %d %s', math.max(r[1], 0), math.max(r[2], 0), r[3], tostring(r[4]))) end
end
local function holder_rec(id)
  local v = redis.call('HGET', h, 'h:' .. id)
  if not v then return nil end
  local a, b, c, d, e = string.match(v, '^(%S+) (%S+) (%S+) (%S+) (.*)$')
  return { tonumber(a), tonumber(b), tonumber(c), tonumber(d), e }
end

-- Slices not renewed in time cool for a window (their charges are still in Bedrock's window), then their room returns.
local due = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 16)
for _, id in ipairs(due) do
  local r = holder_rec(id)
  if r and r[2] == 1 then
    redis.call('HSET', h, 'h:' .. id, string.format('%d 0 %d %d %s', r[1], r[3], r[4], r[5]))
    redis.call('ZADD', z, now + win, id)
  else
    if r then
      local tr = team_rec(r[5])
      tr[1], tr[2] = tr[1] - r[3], tr[2] - r[4]
      put_team(r[5], tr)
    end
    redis.call('HDEL', h, 'h:' .. id)
    redis.call('ZREM', z, id)
  end
end

-- The believed share of the limit: shrunk after a throttle, for a window, then growing back over one.
local frac = 1
local s = redis.call('HGET', h, 'shrink')
if s then
  local f, at = string.match(s, '^(%S+) (%S+)$')
  f, at = tonumber(f), tonumber(at)
  local since = now - at
  if since <= win then frac = f elseif since < 2 * win then frac = f + (1 - f) * (since - win) / win end
end
if shrink ~= '' then
  frac = math.min(frac, tonumber(shrink))
  redis.call('HSET', h, 'shrink', string.format('%.6f %d', frac, now))
end
local L = { math.floor(lim[1] * frac), lim[2] and math.floor(lim[2] * frac) or nil }

local mine = holder_rec(holder) or { 0, 1, 0, 0, team }
local status = 1
local advice = { 0, 0 }
local reclaim = 0
if seq > mine[1] then
  local teams = {}
  local flat = redis.call('HGETALL', t)
  for i = 1, #flat, 2 do
    local a, b, c, d = string.match(flat[i + 1], '^(%S+) (%S+) (%S+) (%S+)$')
    local r = { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
    -- A team holding nothing that has not asked for a window counts in no share: forgotten (tenants come and go).
    if r[1] <= 0 and r[2] <= 0 and r[3] <= now - win and flat[i] ~= team then redis.call('HDEL', t, flat[i])
    else teams[flat[i]] = r end
  end
  local self = teams[team] or { 0, 0, -1, weight }
  self[1], self[2], self[3], self[4] = self[1] - mine[3], self[2] - mine[4], now, weight
  teams[team] = self
  local grant = { 0, 0 }
  local rooms = { 0, 0 }
  for k = 1, 2 do
    local room = 0
    if L[k] == nil then
      room = want[k]
    else
      -- Guarantees of the active teams (asked within the window, or holding room).
      local active, wsum = {}, 0
      for name, r in pairs(teams) do
        if name == team or r[1] > 0 or r[2] > 0 or r[3] > now - win then
          active[#active + 1] = { name, r }
          wsum = wsum + r[4]
        end
      end
      local g, gsum = {}, 0
      for i, a in ipairs(active) do
        g[i] = math.max(wsum > 0 and L[k] * a[2][4] / wsum or 0, floor * L[k])
        gsum = gsum + g[i]
      end
      local used, unmet, own, over = 0, 0, 0, false
      for i, a in ipairs(active) do
        local scale = gsum > L[k] and L[k] / gsum or 1
        local use = a[2][k]
        if a[1] == team then
          use = use + hold[k]
          own = math.max(0, g[i] * scale - use)
          over = use > g[i] * scale
        else
          unmet = unmet + math.max(0, g[i] * scale - use)
        end
        used = used + use
      end
      local free = L[k] - used
      room = math.max(0, math.floor(math.min(free, math.max(own, free - unmet))))
      if over and unmet > 0 then reclaim = 1 end
    end
    rooms[k] = room
    if need[k] > room then status = 2 end
  end
  for k = 1, 2 do
    local x = status == 2 and 0 or math.min(rooms[k], want[k])
    grant[k] = hold[k] + x
    advice[k] = rooms[k] - x
  end
  self[1], self[2] = self[1] + grant[1], self[2] + grant[2]
  put_team(team, self)
  if final then
    if grant[1] == 0 and grant[2] == 0 then
      redis.call('HDEL', h, 'h:' .. holder)
      redis.call('ZREM', z, holder)
    else
      redis.call('HSET', h, 'h:' .. holder, string.format('%d 0 %d %d %s', seq, grant[1], grant[2], team))
      redis.call('ZADD', z, now + win, holder)
    end
  else
    redis.call('HSET', h, 'h:' .. holder, string.format('%d 1 %d %d %s', seq, grant[1], grant[2], team))
    redis.call('ZADD', z, now + ttl, holder)
  end
  mine = { seq, final and 0 or 1, grant[1], grant[2], team }
else
  status = 0
  advice = { mine[3], mine[4] }
end
local total = { 0, 0 }
local flat = redis.call('HGETALL', t)
for i = 1, #flat, 2 do
  local a, b = string.match(flat[i + 1], '^(%S+) (%S+)')
  total[1], total[2] = total[1] + tonumber(a), total[2] + tonumber(b)
end
return { status, mine[3], mine[4], advice[1], advice[2], L[1], L[2] or -1, total[1], total[2], reclaim }
`;

export const QUOTA_LEASE: Script = { name: 'quota-lease', source: QUOTA_LEASE_SCRIPT, sha: '285de51863f5d24f14504ddbb19c0ce005654284' };
