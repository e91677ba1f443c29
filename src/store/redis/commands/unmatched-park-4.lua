--[[
  Parks Meta statuses that arrived before their wamid was recorded. A copy already parked is left
  as it is. Bounded: beyond the cap the oldest go first; every key expires after ARGV[4] without a
  park (nothing parked lives longer than the consumer's maximum age anyway). All keys in {wu}.

  KEYS[1] rows (hash: `<wamid>:<status>` → `<receivedAtMs> <tries> <event JSON>`)
  KEYS[2] due (zset: key → next look-up ms)
  KEYS[3] age (zset: key → receivedAtMs)
  KEYS[4] wamids (zset: keys at score 0, for a lexical range per wamid)
  ARGV[1] nowMs (received at)
  ARGV[2] next look-up, ms
  ARGV[3] most statuses parked
  ARGV[4] TTL of the keys, ms
  ARGV[5..] key, event JSON, key, event JSON, ...
  Returns {dropped, parked}: how many of the oldest were dropped, how many are parked now
]]
for i = 5, #ARGV, 2 do
  local key = ARGV[i]
  if redis.call('HSETNX', KEYS[1], key, ARGV[1] .. ' 0 ' .. ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[2], key)
    redis.call('ZADD', KEYS[3], ARGV[1], key)
    redis.call('ZADD', KEYS[4], 0, key)
  end
end
local dropped = 0
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[3])
if over > 0 then
  for i, key in ipairs(redis.call('ZPOPMIN', KEYS[3], over)) do
    -- ZPOPMIN answers member, score, ...: members at odd indexes.
    if i % 2 == 1 then
      redis.call('HDEL', KEYS[1], key)
      redis.call('ZREM', KEYS[2], key)
      redis.call('ZREM', KEYS[4], key)
      dropped = dropped + 1
    end
  end
end
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return {dropped, redis.call('ZCARD', KEYS[3])}
