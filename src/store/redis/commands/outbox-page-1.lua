--[[
  Pending entries of a tenant's outbox with afterSeq < seq <= upToSeq, in seq order: from the
  tenant's pending zset (the lane's paged reads) or from one order key's (its top-up). The zset
  and the entries are in the tenant's slot.

  KEYS[1] the pending zset (score and member seq)
  ARGV[1] afterSeq (exclusive)
  ARGV[2] upToSeq (inclusive), '+inf' for no bound
  ARGV[3] most entries returned
  ARGV[4] the tenant's entry key prefix
  Returns {{seq, eventId, orderKey, body, createdAtMs, attempts, nextAttemptAtMs, format}, ...} (format '' when absent)
]]
local seqs = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local entries = {}
for _, seq in ipairs(seqs) do
  local e = redis.call('HMGET', ARGV[4] .. seq, 'i', 'k', 'b', 'c', 'a', 'n', 'f')
  -- A member without its entry cannot be left by the scripts; skipped rather than returned half.
  if e[1] then entries[#entries + 1] = {seq, e[1], e[2], e[3], e[4], e[5], e[6], e[7] or ''} end
end
return entries
