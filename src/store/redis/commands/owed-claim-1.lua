--[[
  Claims up to ARGV[2] of a tenant's owed endings (message ids) owed since before ARGV[1]: each
  claimed one is re-dated to ARGV[3] (now), so other processes' sweeps leave it alone while this one
  pays it; if this one dies first, it is owed again (and claimable) a sweep interval later.

  KEYS[1] the tenant's owed endings (zset id → ms)
  ARGV[1] before (ms, exclusive)   ARGV[2] limit   ARGV[3] now (ms)
  Returns the claimed ids.
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return ids
