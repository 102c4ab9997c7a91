/**
 * The Lua prelude the counter scripts (`scripts.ts`) share: integer parsing and `HINCRBY`, slice
 * records (`parse`, `pack`), Redis time, the sweep of expired slices and the counter's totals.
 */
export const COMMON = `
local U = {'u_t', 'u_i', 'u_o', 'u_c'}
local function num(s)
  local n = tonumber(s)
  if n == nil or n ~= n or n < 0 then return 0 end
  return math.floor(math.min(n, 9007199254740991))
end
local function incr(key, field, by)
  return redis.call('HINCRBY', key, field, string.format('%d', by))
end
local L = {'l_t', 'l_i', 'l_o', 'l_c'}
local ALL = {'u_t', 'u_i', 'u_o', 'u_c', 'l_t', 'l_i', 'l_o', 'l_c'}
local function parse(rec)
  local v = {}
  for n in string.gmatch(rec, '%S+') do v[#v + 1] = tonumber(n) end
  return v
end
local function pack(v)
  local s = {}
  for k = 1, #v do s[k] = string.format('%d', v[k]) end
  return table.concat(s, ' ')
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function sweep(c, z, now, forget)
  local due = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 16)
  for _, h in ipairs(due) do
    local rec = redis.call('HGET', c, 'h:' .. h)
    local v = rec and parse(rec)
    if v and v[2] == 1 then
      for k = 1, 4 do
        if v[2 + k] ~= 0 then incr(c, L[k], -v[2 + k]) end
        v[2 + k] = 0
      end
      v[2] = 0
      redis.call('HSET', c, 'h:' .. h, pack(v))
      redis.call('ZADD', z, now + (v[11] or forget), h)
    else
      redis.call('HDEL', c, 'h:' .. h)
      redis.call('ZREM', z, h)
    end
  end
end
local function counter(c)
  local s = redis.call('HMGET', c, unpack(ALL))
  for k = 1, 8 do s[k] = tonumber(s[k] or '0') end
  return s
end
`;
