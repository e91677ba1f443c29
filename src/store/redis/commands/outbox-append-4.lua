--[[
  Appends one tenant webhook event to the tenant's outbox, unless its event id is already stored
  (pending or dead). The seq comes from the tenant's counter inside this script, so seqs increase
  in commit order and have no gaps: a lane that sees seq n+1 after n knows it missed nothing.
  Every key is in the tenant's slot ({t:<tenant>}, see keys.ts).

  KEYS[1] the tenant's outbox counter (string)
  KEYS[2] the tenant's pending entries (zset: score and member seq)
  KEYS[3] the pending entries of the event's order key (zset: score and member seq)
  KEYS[4] the event id's key (string: seq of the entry holding it)
  ARGV[1] the tenant's entry key prefix (an entry's key is this plus its seq)
  ARGV[2] event id
  ARGV[3] order key
  ARGV[4] body
  ARGV[5] createdAtMs (also the first due time)
  ARGV[6] format: '' for sendgate's own event, 'meta' for Meta's envelope (kept as field 'f' only then)
  Returns the new seq, or false when the event id is already stored
]]
local known = redis.call('GET', KEYS[4])
-- The id's key outlives its entry only by accident (an entry dropped from the dead cap): then the id is free.
if known and redis.call('EXISTS', ARGV[1] .. known) == 1 then return false end

local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', ARGV[1] .. seq, 'i', ARGV[2], 'k', ARGV[3], 'b', ARGV[4], 'c', ARGV[5], 'a', 0, 'n', ARGV[5])
if ARGV[6] and ARGV[6] ~= '' then redis.call('HSET', ARGV[1] .. seq, 'f', ARGV[6]) end
redis.call('ZADD', KEYS[2], seq, seq)
redis.call('ZADD', KEYS[3], seq, seq)
-- No TTL while pending: the entry's settle is its owner (delivered deletes it, dead gives it the dead TTL).
redis.call('SET', KEYS[4], seq)
return seq
