--[[
  Records the outcome of one delivery attempt. Only a pending entry is settled: a settle that
  arrives after the entry was requeued under a new seq, or settled already, changes nothing.
  Every key is in the tenant's slot; the order key's zset and the event id's key are built from
  prefixes (ARGV) and the entry's own fields.

  KEYS[1] the entry (hash: i event id, k order key, b body, c createdAtMs, a attempts, n nextAttemptAtMs, e last error)
  KEYS[2] the tenant's pending entries (zset)
  KEYS[3] the tenant's dead entries (zset: score and member seq)
  ARGV[1] seq
  ARGV[2] outcome: 'delivered' | 'retry' | 'dead'
  ARGV[3] attempts (retry, dead)
  ARGV[4] nextAttemptAtMs (retry)
  ARGV[5] last error (retry, dead)
  ARGV[6] how long a dead entry is kept, ms (its hash, its event id, the dead zset)
  ARGV[7] dead entries kept per tenant at most (the oldest go first)
  ARGV[8] the tenant's entry key prefix
  ARGV[9] the tenant's order-key zset prefix
  ARGV[10] the tenant's event id key prefix
  Returns 1 when settled, 0 when the entry was not pending
]]
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
local fields = redis.call('HMGET', KEYS[1], 'i', 'k')
local idKey = ARGV[10] .. (fields[1] or '')
local byKey = ARGV[9] .. (fields[2] or '')

-- The event id's key goes (or expires) with its entry, unless a later entry holds the id.
local function forgetId(seq, ttlMs)
  if redis.call('GET', idKey) ~= seq then return end
  if ttlMs then redis.call('PEXPIRE', idKey, ttlMs) else redis.call('DEL', idKey) end
end

if ARGV[2] == 'retry' then
  redis.call('HSET', KEYS[1], 'a', ARGV[3], 'n', ARGV[4], 'e', ARGV[5])
  return 1
end

redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', byKey, ARGV[1])
if ARGV[2] == 'delivered' then
  redis.call('DEL', KEYS[1])
  forgetId(ARGV[1], nil)
  return 1
end

-- Dead: kept for inspection and replay, bounded by count and by age.
local ttlMs = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'a', ARGV[3], 'e', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ttlMs)
forgetId(ARGV[1], ttlMs)
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ttlMs)
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[7])
if over > 0 then
  for i, old in ipairs(redis.call('ZPOPMIN', KEYS[3], over)) do
    -- ZPOPMIN answers member, score, member, score...: members sit at odd indexes.
    if i % 2 == 1 then
      local oldKey = ARGV[8] .. old
      local oldId = redis.call('HGET', oldKey, 'i')
      redis.call('DEL', oldKey)
      if oldId and redis.call('GET', ARGV[10] .. oldId) == old then redis.call('DEL', ARGV[10] .. oldId) end
    end
  end
end
return 1
