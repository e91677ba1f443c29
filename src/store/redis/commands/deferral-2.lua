--[[
  Changes a recipient's deferrals (131026 undeliverable, 131049 marketing cap) so that every
  process of a fleet merges into one answer: ends only move later, except that an inbound message
  lifts the undeliverable one. Ended deferrals leave both keys. Both keys are in the tenant's slot.

  KEYS[1] deferrals of the tenant (hash: recipient -> 'undeliverableUntilMs \n marketingUntilMs')
  KEYS[2] the same recipients by their later end (zset)
  ARGV[1] recipient
  ARGV[2] 'extend' | 'clear-undeliverable'
  ARGV[3] undeliverable until, ms (extend; 0: unchanged)
  ARGV[4] marketing until, ms (extend; 0: unchanged)
  ARGV[5] now, ms on the caller's clock
  Returns {undeliverableUntilMs, marketingUntilMs} after the change ({0, 0}: none running)
]]
local recipient = ARGV[1]
local now = tonumber(ARGV[5])

local ended = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5], 'LIMIT', 0, 64)
if #ended > 0 then
  redis.call('ZREM', KEYS[2], unpack(ended))
  redis.call('HDEL', KEYS[1], unpack(ended))
end

local u, m = 0, 0
local old = redis.call('HGET', KEYS[1], recipient)
if old then
  local a, b = string.match(old, '^([^\n]*)\n(.*)$')
  u, m = tonumber(a), tonumber(b)
end
if ARGV[2] == 'clear-undeliverable' then
  u = 0
else
  u = math.max(u, tonumber(ARGV[3]))
  m = math.max(m, tonumber(ARGV[4]))
end
local untilMs = math.max(u, m)
if untilMs <= now then
  redis.call('HDEL', KEYS[1], recipient)
  redis.call('ZREM', KEYS[2], recipient)
  return {0, 0}
end
redis.call('HSET', KEYS[1], recipient, string.format('%d\n%d', u, m))
redis.call('ZADD', KEYS[2], untilMs, recipient)
-- Both keys live until the latest end (Redis's clock; the scores keep the caller's).
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local ttl = math.max(1000, math.ceil(tonumber(latest[2]) - now) + 1000)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {u, m}
