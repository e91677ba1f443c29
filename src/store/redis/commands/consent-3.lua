--[[
  Records one consent fact: appends it to the recipient's audit log and makes it the current
  consent unless the current one is newer (an old import cannot undo a recent STOP), exactly the
  rule of the SQLite store's upsert. All three keys are in the tenant's slot.

  KEYS[1] current consent of the tenant (hash: recipient -> 'status \n source \n atMs')
  KEYS[2] recipients currently opted out (set)
  KEYS[3] the recipient's audit log (list, newest first)
  ARGV[1] recipient
  ARGV[2] status: 'opt_in' | 'opt_out'
  ARGV[3] source
  ARGV[4] when the user gave or withdrew consent, ms (already no later than ARGV[5])
  ARGV[5] when it was recorded, ms
  ARGV[6] log entries kept per recipient
  ARGV[7] TTL of the log, ms (renewed at each record)
  Returns 1 when the current consent changed, 0 when a newer one stays
]]
local recipient, status, source = ARGV[1], ARGV[2], ARGV[3]
local atMs, recordedMs = tonumber(ARGV[4]), tonumber(ARGV[5])

redis.call('LPUSH', KEYS[3], status .. '\n' .. source .. '\n' .. ARGV[4] .. '\n' .. ARGV[5])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
redis.call('PEXPIRE', KEYS[3], ARGV[7])

local current = redis.call('HGET', KEYS[1], recipient)
if current then
  local currentAt = tonumber(string.match(current, '([^\n]*)$'))
  -- The current one counts as dated no later than now: a future date must not outrank what follows.
  if atMs < math.min(currentAt, recordedMs) then return 0 end
end
redis.call('HSET', KEYS[1], recipient, status .. '\n' .. source .. '\n' .. ARGV[4])
if status == 'opt_out' then redis.call('SADD', KEYS[2], recipient) else redis.call('SREM', KEYS[2], recipient) end
return 1
