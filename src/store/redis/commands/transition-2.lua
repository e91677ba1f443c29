--[[
  Applies one state change if the ordering rules allow it from the record's current state
  (src/store/transitions.ts, passed in ARGV[2]: the same rule the embedded store puts in its WHERE
  clause), and keeps the number's queue in step. Both keys are in the tenant's slot.

  KEYS[1] the record (hash)
  KEYS[2] the queue of the record's number and priority (zset)
  ARGV[1] the target state
  ARGV[2] the states it may be entered from, as ',a,b,'
  ARGV[3] queue action: 'stay' (no change), 'requeue' (new score ARGV[4]), 'leave' (final: removed)
  ARGV[4] the new queue score (notBeforeMs) for 'requeue'
  ARGV[5] record TTL to set, ms ('0': none, the record is still unfinished)
  ARGV[6] n, the number of field/value pairs that follow
  ARGV[7 .. 6+2n] fields and values to set; any further ARGV: fields to delete
  Returns 1 when applied, 0 when the record is unknown or the rules refuse the change
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if not string.find(ARGV[2], ',' .. state .. ',', 1, true) then return 0 end

local n = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'state', ARGV[1], unpack(ARGV, 7, 6 + 2 * n))
if #ARGV > 6 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 7 + 2 * n)) end

if ARGV[3] ~= 'stay' then
  local fields = redis.call('HMGET', KEYS[1], 'seq', 'id')
  local member = fields[1] .. ':' .. fields[2]
  if ARGV[3] == 'requeue' then
    redis.call('ZADD', KEYS[2], ARGV[4], member)
  else
    redis.call('ZREM', KEYS[2], member)
  end
end
if ARGV[5] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return 1
