--[[
  Reads parked statuses: those due by a time (earliest first), or those of one wamid (oldest
  first). All keys in {wu}.

  KEYS[1] rows (hash: key → `<receivedAtMs> <tries> <event JSON>`)
  KEYS[2] due (zset: key → next look-up ms)
  KEYS[3] wamids (zset: keys at score 0)
  ARGV[1] 'due' or 'wamid'
  ARGV[2] due: nowMs; wamid: the wamid
  ARGV[3] due: most returned
  Returns {{key, row, next look-up ms}, ...}
]]
local keys
if ARGV[1] == 'due' then
  keys = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
else
  -- Keys are `<wamid>:<status>`: one wamid's are the lexical range between `<wamid>:` and `<wamid>;`.
  keys = redis.call('ZRANGEBYLEX', KEYS[3], '[' .. ARGV[2] .. ':', '(' .. ARGV[2] .. ';')
end
local rows = {}
for _, key in ipairs(keys) do
  local row = redis.call('HGET', KEYS[1], key)
  if row then rows[#rows + 1] = {key, row, redis.call('ZSCORE', KEYS[2], key)} end
end
return rows
