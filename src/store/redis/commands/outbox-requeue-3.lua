--[[
  Gives a tenant's dead entries a new life: each becomes pending again under a new seq (after
  everything queued), 0 attempts, due at ARGV[1], same event id. Dead entries whose hash expired
  meanwhile are skipped. Every key is in the tenant's slot.

  KEYS[1] the tenant's dead entries (zset: score and member seq)
  KEYS[2] the tenant's outbox counter (string)
  KEYS[3] the tenant's pending entries (zset)
  ARGV[1] nowMs: the requeued entries' due time
  ARGV[2] the tenant's entry key prefix
  ARGV[3] the tenant's order-key zset prefix
  ARGV[4] the tenant's event id key prefix
  Returns {{seq, eventId, orderKey, body, createdAtMs, attempts, nextAttemptAtMs, format}, ...} in the new seq order
]]
local requeued = {}
for _, old in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local oldKey = ARGV[2] .. old
  local e = redis.call('HMGET', oldKey, 'i', 'k', 'b', 'c', 'f')
  redis.call('DEL', oldKey)
  if e[1] then
    local seq = redis.call('INCR', KEYS[2])
    redis.call('HSET', ARGV[2] .. seq, 'i', e[1], 'k', e[2], 'b', e[3], 'c', e[4], 'a', 0, 'n', ARGV[1])
    if e[5] then redis.call('HSET', ARGV[2] .. seq, 'f', e[5]) end
    redis.call('ZADD', KEYS[3], seq, seq)
    redis.call('ZADD', ARGV[3] .. e[2], seq, seq)
    -- Pending again: the id's key loses its dead TTL and follows the new entry.
    redis.call('SET', ARGV[4] .. e[1], seq)
    requeued[#requeued + 1] = {seq, e[1], e[2], e[3], e[4], '0', ARGV[1], e[5] or ''}
  end
end
redis.call('DEL', KEYS[1])
return requeued
