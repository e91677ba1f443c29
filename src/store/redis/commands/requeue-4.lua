--[[
  Puts a failed or expired message back in its number's queue (an operator's requeue): state
  `queued`, 0 attempts, due at ARGV[1], deadline ARGV[2], its TTL removed (it is unfinished again)
  and its entry in the number's list of ended messages removed. Every key is in the tenant's slot.

  KEYS[1] the record (hash)
  KEYS[2] the queue of the record's number and priority (zset)
  KEYS[3] the number's list of failed messages (zset, src/store/ended.ts)
  KEYS[4] the number's list of expired messages (zset)
  ARGV[1] now, ms on the caller's clock: the message's due time and last change
  ARGV[2] the fresh deadline, ms
  ARGV[3] pub/sub channel told about the message ('': none), so the number's owner pages it in
  ARGV[4] what is published there
  Returns the record's fields and values after the change, or nil when the record is unknown or
  neither failed nor expired (nothing changed)
]]
local f = redis.call('HMGET', KEYS[1], 'state', 'updatedAtMs', 'seq', 'id')
if f[1] ~= 'failed' and f[1] ~= 'expired' then return nil end
local listed = string.format('%015d', 999999999999999 - tonumber(f[2])) .. ':' .. string.format('%015d', 999999999999999 - tonumber(f[3])) .. ':' .. f[4]
if f[1] == 'failed' then redis.call('ZREM', KEYS[3], listed) else redis.call('ZREM', KEYS[4], listed) end

redis.call('HSET', KEYS[1], 'state', 'queued', 'attempts', '0', 'notBeforeMs', ARGV[1], 'deadlineAtMs', ARGV[2], 'updatedAtMs', ARGV[1])
redis.call('HDEL', KEYS[1], 'throttled')
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[1], f[3] .. ':' .. f[4])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return redis.call('HGETALL', KEYS[1])
