--[[
  Messages of a tenant's broadcasts ended (src/broadcasts/redis-store.ts): each admitted recipient
  moves from queued to its message's end once, and its broadcast's counts with it. A cancelled
  broadcast's message refused at departure (rejected) counts as cancelled. Ids of other messages,
  or ends recorded already, match nothing. Every key is in the tenant's slot: the broadcasts' keys
  are its record prefix plus the id (and `:s`, `:q`).

  KEYS[1] the tenant's queued broadcast messages (hash message id → `<broadcast id> <idx>`)
  ARGV[1] the prefix of the tenant's broadcast records
  ARGV[2 ..] pairs of message id and status name (sent, failed, expired, rejected)
  Returns, per broadcast touched, { id, pending, queued, sent, failed, expired, rejected, cancelled }
]]
local CODES = { pending = 0, queued = 1, sent = 2, failed = 3, expired = 4, rejected = 5, cancelled = 6 }
local touched, order = {}, {}
for i = 2, #ARGV, 2 do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry then
    redis.call('HDEL', KEYS[1], ARGV[i])
    local space = string.find(entry, ' ', 1, true)
    local id, idx = string.sub(entry, 1, space - 1), string.sub(entry, space + 1)
    local record = ARGV[1] .. id
    local state = redis.call('HGET', record, 'state')
    if state and redis.call('ZREM', record .. ':q', ARGV[i]) == 1 then
      local status = ARGV[i + 1]
      if status == 'rejected' and state == 'cancelled' then status = 'cancelled' end
      redis.call('HSET', record .. ':s', idx, CODES[status] .. ' ' .. ARGV[i])
      redis.call('HINCRBY', record, 'queued', -1)
      redis.call('HINCRBY', record, status, 1)
      if not touched[id] then
        touched[id] = true
        order[#order + 1] = id
      end
    end
  end
end
local out = {}
for _, id in ipairs(order) do
  local c = redis.call('HMGET', ARGV[1] .. id, 'pending', 'queued', 'sent', 'failed', 'expired', 'rejected', 'cancelled')
  out[#out + 1] = { id, c[1], c[2], c[3], c[4], c[5], c[6], c[7] }
end
return out
