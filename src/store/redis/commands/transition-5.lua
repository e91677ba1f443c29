--[[
  Applies one state change if the ordering rules allow it from the record's current state
  (src/store/transitions.ts, passed in ARGV[2]: the same rule the embedded store puts in its WHERE
  clause), and keeps the number's queue in step. Every key is in the tenant's slot.

  A fenced change (a `sending` by a fleet member, ARGV[6] its token) applies only while the
  number's lease carries that token: a member that lost its lease (stopped, partitioned, slow)
  can never commit a send the new holder may also make. A `sending` also notes the recipient
  in the number's recent departures, so the next holder keeps the pair rate across a handover.

  KEYS[1] the record (hash)
  KEYS[2] the queue of the record's number and priority (zset)
  KEYS[3] the number's lease (string `<token> <owner>`); the record key again when not fenced
  KEYS[4] the number's recent departures (zset recipient → ms), or for 'owe' the tenant's owed
          endings (zset id → ms); the record key again when neither
  KEYS[5] for `failed` and `expired`: the number's list of such messages (zset, score 0, member
          `<inverted updatedAtMs>:<inverted seq>:<id>`, src/store/ended.ts), trimmed to the record TTL;
          the record key again otherwise
  ARGV[1] the target state
  ARGV[2] the states it may be entered from, as ',a,b,'
  ARGV[3] queue action: 'stay' (no change), 'requeue' (new score ARGV[4]), 'leave' (final: removed),
          'owe' (final unsent: removed, and its tenant event owed in KEYS[4] since ARGV[4])
  ARGV[4] the new queue score (notBeforeMs) for 'requeue', the change's ms for 'owe'
  ARGV[5] record TTL to set, ms ('0': none, the record is still unfinished)
  ARGV[6] fencing token ('': not fenced)
  ARGV[7] departure to note: `<ms> <keep ms> <cap>` ('': none); the recipient is the record's `to`
  ARGV[8] n, the number of field/value pairs that follow
  ARGV[9 .. 8+2n] fields and values to set; any further ARGV: fields to delete
  Returns 1 when applied, 0 when the record is unknown or the rules refuse the change, -1 when fenced off
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
if not string.find(ARGV[2], ',' .. state .. ',', 1, true) then return 0 end
if ARGV[6] ~= '' then
  local held = redis.call('GET', KEYS[3])
  if not held or string.sub(held, 1, string.find(held, ' ', 1, true) - 1) ~= ARGV[6] then return -1 end
end

local n = tonumber(ARGV[8])
redis.call('HSET', KEYS[1], 'state', ARGV[1], unpack(ARGV, 9, 8 + 2 * n))
if #ARGV > 8 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 9 + 2 * n)) end

if ARGV[3] ~= 'stay' then
  local fields = redis.call('HMGET', KEYS[1], 'seq', 'id')
  local member = fields[1] .. ':' .. fields[2]
  if ARGV[3] == 'requeue' then
    redis.call('ZADD', KEYS[2], ARGV[4], member)
  else
    redis.call('ZREM', KEYS[2], member)
    if ARGV[3] == 'owe' then redis.call('ZADD', KEYS[4], ARGV[4], fields[2]) end
  end
end
if ARGV[5] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end

if KEYS[5] ~= KEYS[1] then
  -- Listed for operators (GET /admin/messages) as long as the record is kept.
  local f = redis.call('HMGET', KEYS[1], 'updatedAtMs', 'seq', 'id')
  local at = tonumber(f[1])
  redis.call('ZADD', KEYS[5], 0, string.format('%015d', 999999999999999 - at) .. ':' .. string.format('%015d', 999999999999999 - tonumber(f[2])) .. ':' .. f[3])
  if ARGV[5] ~= '0' then
    -- Members older than the record TTL name records that are gone: removed (lexically last).
    local cutoff = string.format('%015d', 999999999999999 - (at - tonumber(ARGV[5])))
    redis.call('ZREMRANGEBYLEX', KEYS[5], '(' .. cutoff, '+')
    redis.call('PEXPIRE', KEYS[5], ARGV[5])
  end
end

if ARGV[7] ~= '' then
  local atMs, keepMs, cap = string.match(ARGV[7], '^(%d+) (%d+) (%d+)$')
  local recipient = redis.call('HGET', KEYS[1], 'to')
  if recipient and recipient ~= '' then redis.call('ZADD', KEYS[4], atMs, recipient) end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(atMs) - tonumber(keepMs))
  -- Oldest dropped past the cap: a handover then holds fewer recipients, never more memory.
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(cap) + 1))
  redis.call('PEXPIRE', KEYS[4], keepMs)
end
return 1
