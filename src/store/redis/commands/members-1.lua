--[[
  A fleet member's heartbeat: marks the caller live until now + TTL (Redis's own clock, so the
  processes' clocks need not agree), forgets members whose mark lapsed, and lists the live ones.

  KEYS[1] the members (zset: process id → expiry, ms on the server's clock)
  ARGV[1] the caller's process id
  ARGV[2] TTL, ms ('0': leaving, the caller is removed)
  Returns the live members' ids, sorted
]]
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
if ARGV[2] == '0' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(live)
return live
