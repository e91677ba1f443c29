--[[
  The original message of an idempotency key still honoured, with that request's body hash.
  The key and the record are in the tenant's slot.

  KEYS[1] the idempotency key (hash: id, h, at)
  ARGV[1] now, ms on the caller's clock
  ARGV[2] how long a key is honoured, ms
  ARGV[3] the tenant's record key prefix
  Returns {body hash as stored ('-' none, 'h' .. hash), {record fields and values}} or false
]]
local known = redis.call('HMGET', KEYS[1], 'id', 'h', 'at')
if not known[1] or tonumber(known[3]) < tonumber(ARGV[1]) - tonumber(ARGV[2]) then return false end
local record = redis.call('HGETALL', ARGV[3] .. known[1])
if #record == 0 then return false end
return {known[2], record}
