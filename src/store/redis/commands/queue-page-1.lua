--[[
  The next page of one number's unfinished messages of one priority, in service order (due time,
  then arrival), from a cursor, only those due. The queue and the records are in the tenant's slot.

  KEYS[1] the queue (zset: score notBeforeMs, member '<seq, 16 digits>:<id>')
  ARGV[1] cursor due time (ms), '' for the first page
  ARGV[2] cursor seq, 16 digits (ignored without ARGV[1])
  ARGV[3] due by (ms): only entries with score <= ARGV[3]
  ARGV[4] page size
  ARGV[5] the tenant's record key prefix
  Returns {{record fields and values}, ...}, earliest score after ARGV[3] or false}
]]
local queue = KEYS[1]
local start = 0
if ARGV[1] ~= '' then
  -- Entries with the cursor's score occupy ranks [lo, hi); find the first one past its seq.
  local lo = redis.call('ZCOUNT', queue, '-inf', '(' .. ARGV[1])
  local hi = lo + redis.call('ZCOUNT', queue, ARGV[1], ARGV[1])
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local member = redis.call('ZRANGE', queue, mid, mid)[1]
    if string.sub(member, 1, 16) > ARGV[2] then hi = mid else lo = mid + 1 end
  end
  start = lo
end

local records = {}
local limit = tonumber(ARGV[4])
if limit > 0 then
  local dueBy = tonumber(ARGV[3])
  local entries = redis.call('ZRANGE', queue, start, start + limit - 1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    if tonumber(entries[i + 1]) > dueBy then break end
    local record = redis.call('HGETALL', ARGV[5] .. string.sub(entries[i], 18))
    if #record > 0 then records[#records + 1] = record end
  end
end
local nextDue = redis.call('ZRANGEBYSCORE', queue, '(' .. ARGV[3], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {records, nextDue[2] or false}
