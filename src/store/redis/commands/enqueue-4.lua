--[[
  Stores a new message in one atomic step: its record, its idempotency key and its queue entry.
  Every key is in the tenant's slot ({t:<tenant>}, see keys.ts).

  KEYS[1] the record (hash)
  KEYS[2] the idempotency key (hash); the record key again when the message has no key
  KEYS[3] the queue of the message's number and priority (zset)
  KEYS[4] the tenant's arrival counter
  ARGV[1] now, ms on the caller's clock (keys older than ARGV[2] are not honoured)
  ARGV[2] how long an idempotency key is honoured, ms
  ARGV[3] TTL of the idempotency key, ms
  ARGV[4] '1' when the message has an idempotency key
  ARGV[5] the tenant's record key prefix (the original's key is this plus its id)
  ARGV[6] the body hash as stored: '-' for none, 'h' .. hash otherwise
  ARGV[7] queue score: notBeforeMs
  ARGV[8] message id
  ARGV[9] pub/sub channel told about the new message ('': none), so the number's owner pages it in
  ARGV[10] what is published there
  ARGV[11..] record fields and values (record-codec.ts)
  Returns {'created', seq} | {'duplicate', {original record fields and values}} | {'conflict'}
]]
if ARGV[4] == '1' then
  local known = redis.call('HMGET', KEYS[2], 'id', 'h', 'at')
  if known[1] and tonumber(known[3]) >= tonumber(ARGV[1]) - tonumber(ARGV[2]) then
    local original = redis.call('HGETALL', ARGV[5] .. known[1])
    -- An original removed since (retention) frees the key.
    if #original > 0 then
      if known[2] == ARGV[6] then return {'duplicate', original} end
      return {'conflict'}
    end
  end
end

-- Zero-padded so that members with equal scores sort in arrival order.
local seq = string.format('%016d', redis.call('INCR', KEYS[4]))
redis.call('HSET', KEYS[1], 'seq', seq, unpack(ARGV, 11))
redis.call('ZADD', KEYS[3], ARGV[7], seq .. ':' .. ARGV[8])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[2], 'id', ARGV[8], 'h', ARGV[6], 'at', ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
if ARGV[9] ~= '' then redis.call('PUBLISH', ARGV[9], ARGV[10]) end
return {'created', seq}
