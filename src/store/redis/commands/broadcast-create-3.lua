--[[
  Takes a broadcast's Idempotency-Key and stores its record as `creating` (src/broadcasts/redis-store.ts).
  Until broadcast-created runs, the record, its key and its recipients expire after ARGV[2] ms
  (renewed per chunk of recipients): a create cut short by a crash leaves nothing behind.

  KEYS[1] the broadcast's record (hash)
  KEYS[2] its idempotency key (string), or the record key again when the request has none
  KEYS[3] its recipients (hash; may not exist yet)
  ARGV[1] the broadcast id
  ARGV[2] TTL while creating, ms
  ARGV[3 ..] the record's fields and values
  Returns '' when stored, or the id of the broadcast that holds the key
]]
if KEYS[2] ~= KEYS[1] then
  local held = redis.call('GET', KEYS[2])
  if held then return held end
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return ''
