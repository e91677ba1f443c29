--[[
  Reschedules parked statuses: one (a look-up that found nothing) or all of them (at start, every
  parked status gets its whole retry schedule again). All keys in {wu}.

  KEYS[1] rows (hash: key → `<receivedAtMs> <tries> <event JSON>`)
  KEYS[2] due (zset: key → next look-up ms)
  ARGV[1] next look-up, ms
  ARGV[2] tries so far
  ARGV[3] the key, or '' for every parked status
  Returns how many were rescheduled
]]
local function reschedule(key)
  local row = redis.call('HGET', KEYS[1], key)
  if not row then return 0 end
  local receivedAt, rest = string.match(row, '^(%d+) %d+ (.*)$')
  redis.call('HSET', KEYS[1], key, receivedAt .. ' ' .. ARGV[2] .. ' ' .. rest)
  redis.call('ZADD', KEYS[2], ARGV[1], key)
  return 1
end
if ARGV[3] ~= '' then return reschedule(ARGV[3]) end
local n = 0
for _, key in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do n = n + reschedule(key) end
return n
