--[[
  A broadcast's change of state (src/broadcasts/redis-store.ts), from any process of a fleet:
    start   scheduled → running
    expire  (scheduled or running) its pending recipients end expired; the cursor goes to ARGV[4]
    end     (scheduled or running) → ARGV[2] at ARGV[3] ms; pending recipients end ARGV[5] if given
  Recipients never admitted keep no status of their own: `rest` says what they ended as.

  KEYS[1] the broadcast's record (hash)
  ARGV[1] start | expire | end
  ARGV[2] the new state (end)
  ARGV[3] when it ended, ms (end)
  ARGV[4] the broadcast's total (expire)
  ARGV[5] what pending recipients end as ('': they stay pending)
  Returns { 1 or 0 (applied), the record's fields and values }, or false when there is no record
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return false end
local active = state == 'running' or state == 'scheduled'
local applied = 0
local function endPending(as)
  local pending = tonumber(redis.call('HGET', KEYS[1], 'pending'))
  redis.call('HSET', KEYS[1], 'pending', 0, 'rest', as)
  redis.call('HINCRBY', KEYS[1], as, pending)
end
if ARGV[1] == 'start' then
  if state == 'scheduled' then
    redis.call('HSET', KEYS[1], 'state', 'running')
    applied = 1
  end
elseif active then
  if ARGV[1] == 'expire' then
    endPending('expired')
    redis.call('HSET', KEYS[1], 'cursor', ARGV[4], 'waiting', 0)
  else
    if ARGV[5] ~= '' then endPending(ARGV[5]) end
    redis.call('HSET', KEYS[1], 'state', ARGV[2], 'ended', ARGV[3], 'waiting', 0)
  end
  applied = 1
end
return { applied, redis.call('HGETALL', KEYS[1]) }
