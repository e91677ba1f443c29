--[[
  Commits a chunk of a broadcast's recipients admitted into the queue (src/broadcasts/redis-store.ts):
  each pending one becomes queued (with its message id) or rejected, the counts move with them, and
  the cursor moves forward, all at once. A recipient already admitted is left as it is (a chunk
  committed again after a crash or by a former owner moves nothing twice).

  KEYS[1] the broadcast's record (hash)
  KEYS[2] its recipients' statuses (hash idx → `<code>[ <message id>]`)
  KEYS[3] its queued recipients (zset message id → idx)
  KEYS[4] the tenant's queued broadcast messages (hash message id → `<broadcast id> <idx>`)
  ARGV[1] the broadcast id
  ARGV[2] the cursor after this chunk
  ARGV[3] '1' when the messaging limit stopped the chunk (the rest wait), else '0'
  ARGV[4] n, the queued recipients: ARGV[5 .. 4+2n] pairs of idx and message id
  ARGV[5+2n ..] idx of recipients a policy refused (status rejected)
  Returns the record's fields and values after the commit, or false when it is not running
  (cancelled elsewhere, or gone) or its pending recipients ended already (`rest`: the deadline
  expired them, a former owner's chunk comes late): nothing changed
]]
local state, rest = unpack(redis.call('HMGET', KEYS[1], 'state', 'rest'))
if state ~= 'running' and state ~= 'scheduled' then return false end
if rest and rest ~= '' then return false end
local n = tonumber(ARGV[4])
local queued, rejected = 0, 0
for i = 5, 4 + 2 * n, 2 do
  local idx, id = ARGV[i], ARGV[i + 1]
  if redis.call('HSETNX', KEYS[2], idx, '1 ' .. id) == 1 then
    redis.call('ZADD', KEYS[3], idx, id)
    redis.call('HSET', KEYS[4], id, ARGV[1] .. ' ' .. idx)
    queued = queued + 1
  end
end
for i = 5 + 2 * n, #ARGV do
  if redis.call('HSETNX', KEYS[2], ARGV[i], '5') == 1 then rejected = rejected + 1 end
end
-- 0 - n, not -n: Lua's -0 reaches Redis as '-0', which HINCRBY refuses.
redis.call('HINCRBY', KEYS[1], 'pending', 0 - (queued + rejected))
redis.call('HINCRBY', KEYS[1], 'queued', queued)
redis.call('HINCRBY', KEYS[1], 'rejected', rejected)
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'cursor')) then redis.call('HSET', KEYS[1], 'cursor', ARGV[2]) end
redis.call('HSET', KEYS[1], 'waiting', ARGV[3])
return redis.call('HGETALL', KEYS[1])
