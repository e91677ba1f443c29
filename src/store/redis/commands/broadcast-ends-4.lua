--[[
  Messages of one broadcast ended (src/broadcasts/redis-store.ts): each admitted recipient moves
  from queued to its message's end once, and the broadcast's counts with it. A cancelled
  broadcast's message refused at departure (rejected) counts as cancelled. Ids of other messages
  (another broadcast's, or none), or ends recorded already, match nothing. Every key is in the
  tenant's slot (keys.ts).

  KEYS[1] the tenant's queued broadcast messages (hash message id → `<broadcast id> <idx>`)
  KEYS[2] the broadcast's record (hash)
  KEYS[3] its recipients' statuses (hash idx → `<code>[ <message id>]`)
  KEYS[4] its queued recipients (zset message id → idx)
  ARGV[1] the broadcast id
  ARGV[2 ..] pairs of message id and status name (sent, failed, expired, rejected)
  Returns { pending, queued, sent, failed, expired, rejected, cancelled } when one moved, else false
]]
local CODES = { pending = 0, queued = 1, sent = 2, failed = 3, expired = 4, rejected = 5, cancelled = 6 }
local owner = ARGV[1] .. ' '
local state = redis.call('HGET', KEYS[2], 'state')
local moved = false
for i = 2, #ARGV, 2 do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry and string.sub(entry, 1, #owner) == owner then
    redis.call('HDEL', KEYS[1], ARGV[i])
    if state and redis.call('ZREM', KEYS[4], ARGV[i]) == 1 then
      local status = ARGV[i + 1]
      if status == 'rejected' and state == 'cancelled' then status = 'cancelled' end
      redis.call('HSET', KEYS[3], string.sub(entry, #owner + 1), CODES[status] .. ' ' .. ARGV[i])
      redis.call('HINCRBY', KEYS[2], 'queued', -1)
      redis.call('HINCRBY', KEYS[2], status, 1)
      moved = true
    end
  end
end
if not moved then return false end
return redis.call('HMGET', KEYS[2], 'pending', 'queued', 'sent', 'failed', 'expired', 'rejected', 'cancelled')
