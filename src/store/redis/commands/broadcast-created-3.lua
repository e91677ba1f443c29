--[[
  Ends a broadcast's create: its real state, and its keys no longer expire (src/broadcasts/redis-store.ts).

  KEYS[1] the broadcast's record (hash)
  KEYS[2] its idempotency key (string), or the record key again
  KEYS[3] its recipients (hash)
  ARGV[1] the state (scheduled, running, completed)
  Returns 1, or 0 when the record is gone (the create took longer than its TTL: it failed)
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'creating' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
redis.call('PERSIST', KEYS[3])
return 1
