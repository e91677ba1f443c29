--[[
  Removes one parked status (matched, or given up). All keys in {wu}.

  KEYS[1] rows (hash)   KEYS[2] due (zset)   KEYS[3] age (zset)   KEYS[4] wamids (zset)
  ARGV[1] the key, `<wamid>:<status>`
  Returns how many are parked now
]]
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 2, 4 do redis.call('ZREM', KEYS[i], ARGV[1]) end
return redis.call('ZCARD', KEYS[3])
