--[[
  The shared budgets of a tenant: the messaging limit (distinct recipients in a moving 24 h, ring of
  one-minute buckets, a recipient's charge refreshed by each later one) and repeated content
  (distinct recipients per content fingerprint in a window, not refreshed). The same algorithm,
  step for step and in the same floating-point operations, as the reference model's Ring and
  DistinctWindow (src/core/reference.ts), so that differential tests can require identical answers.
  Every key is in the tenant's slot ({t:<tenant>}, keys.ts).

  KEYS[1] the tenant's budget clock (string): time never runs backwards (the core's clamp)
  KEYS[2] the messaging-limit ring (hash: h head bucket, w window ms, t total, <slot> counts)
  KEYS[3] the recipients it counts (zset: score = ms their charge leaves the window)
  KEYS[4] holders of each counted recipient (hash: recipient -> processes holding it)
  KEYS[5] the repeated-content ring of one fingerprint (hash, as KEYS[2]); any key of the slot when unused
  KEYS[6] its recipients (zset, as KEYS[3]); any key of the slot when unused
  ARGV[1] 'charge' | 'release' | 'count'
  ARGV[2] now, ms on the caller's clock
  charge:
    ARGV[3] the messaging limit ('' to skip the tier)
    ARGV[4] '1': count this process as a holder of the recipient's slot (admitted: new or already counted)
    ARGV[5] the recipient
    ARGV[6] repeat window ms ('' to skip repeated content)
    ARGV[7] repeat: most distinct recipients in the window
    ARGV[8] '1' shadow: run both checks whatever the first answers and undo nothing
    ARGV[9] the messaging limit's window ms; ARGV[10] its ring size; ARGV[11] the repeat ring size
    Returns {tier, repeat, tier total}: each answer 0 = counted now, -1 = already counted,
    > 0 = refused (ms until a slot frees), -2 = not checked. A refused repeat (not shadow) undoes
    the tier charge this call made, so a refusal charges nothing.
  release:
    ARGV[3] tier: '0' nothing, 'hold' (one holder gives back; the slot frees with the last), 'force'
    ARGV[4] the recipient
    ARGV[5] '1': release the recipient from the fingerprint of KEYS[5..6]
    ARGV[6] unused; ARGV[7] unused; ARGV[8] unused; ARGV[9..11] as charge
    Returns the tier total
  count:
    ARGV[9..11] as charge. Returns the tier total.
]]
local function fmt(x) return string.format('%.17g', x) end

local now = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]))
if last and last > now then now = last end
local tierWindowMs = tonumber(ARGV[9])
local tierSize = tonumber(ARGV[10])
local repeatSize = tonumber(ARGV[11])
redis.call('SET', KEYS[1], fmt(now), 'PX', math.ceil(tierWindowMs + 2 * tierWindowMs / (tierSize - 1)) + 3600000)

-- A ring: buckets head-size+1..head are live; slot idx % size counts bucket idx (reference.ts Ring).
local function load(key, size)
  local m = redis.call('HMGET', key, 'h', 'w', 't')
  if not m[1] then return nil end
  return { key = key, size = size, head = tonumber(m[1]), w = tonumber(m[2]), total = tonumber(m[3]) }
end

local function fresh(key, size, windowMs, at)
  return { key = key, size = size, head = math.floor(at / (windowMs / (size - 1))), w = windowMs, total = 0 }
end

local function bucketMs(r) return r.w / (r.size - 1) end

local function slot(r, i) return tonumber(redis.call('HGET', r.key, fmt(i))) or 0 end

local function setSlot(r, i, v)
  if v == 0 then redis.call('HDEL', r.key, fmt(i)) else redis.call('HSET', r.key, fmt(i), fmt(v)) end
end

local function add(r, idx, n)
  local i = idx % r.size
  setSlot(r, i, slot(r, i) + n)
  r.total = r.total + n
end

-- Expire buckets that left the window; re-bucket (conservatively) if the window length changed.
local function advance(r, windowMs, at)
  local cur = math.floor(at / bucketMs(r))
  if cur > r.head then
    local steps = cur - r.head
    if steps >= r.size then
      redis.call('DEL', r.key)
      r.total = 0
    else
      for s = 1, steps do
        local i = (r.head + s) % r.size
        local c = slot(r, i)
        if c ~= 0 then
          r.total = r.total - c
          setSlot(r, i, 0)
        end
      end
    end
    r.head = cur
  end
  if windowMs ~= r.w then
    r.w = windowMs
    cur = math.floor(at / bucketMs(r))
    redis.call('DEL', r.key)
    setSlot(r, cur % r.size, r.total)
    r.head = cur
  end
  return r.head
end

-- ms until `need` counted events have left the window (whole window if they never would).
local function waitFor(r, need, at)
  local flat = redis.call('HGETALL', r.key)
  local counts = {}
  for i = 1, #flat, 2 do counts[flat[i]] = tonumber(flat[i + 1]) end
  local bw = bucketMs(r)
  local acc = 0
  for j = r.head - (r.size - 1), r.head do
    acc = acc + (counts[fmt(j % r.size)] or 0)
    if acc >= need then return math.ceil((j + r.size) * bw - at) end
  end
  return math.ceil((r.head + r.size) * bw - at)
end

local function exitMs(r, idx) return (idx + r.size) * bucketMs(r) end

-- Keys live a window and two buckets past their last change (real TTL only bounds memory).
local function save(r, membersKey, holdersKey)
  redis.call('HSET', r.key, 'h', fmt(r.head), 'w', fmt(r.w), 't', fmt(r.total))
  local ttl = math.ceil(r.w + 2 * bucketMs(r)) + 1000
  redis.call('PEXPIRE', r.key, ttl)
  if redis.call('EXISTS', membersKey) == 1 then redis.call('PEXPIRE', membersKey, ttl) end
  if holdersKey and redis.call('EXISTS', holdersKey) == 1 then redis.call('PEXPIRE', holdersKey, ttl) end
end

-- Members whose charge has left the window are absent: removed (with their holders), a few per call.
local function sweep(membersKey, holdersKey)
  local gone = redis.call('ZRANGEBYSCORE', membersKey, '-inf', fmt(now), 'LIMIT', 0, 64)
  if #gone == 0 then return end
  redis.call('ZREM', membersKey, unpack(gone))
  if holdersKey then redis.call('HDEL', holdersKey, unpack(gone)) end
end

-- reference.ts DistinctWindow.charge: 0 counted now, -1 already counted, > 0 refused.
local function charge(ringKey, membersKey, holdersKey, size, refresh, windowMs, limit, member)
  sweep(membersKey, holdersKey)
  local r = load(ringKey, size) or fresh(ringKey, size, windowMs, now)
  local cur = advance(r, windowMs, now)
  local exit = tonumber(redis.call('ZSCORE', membersKey, member))
  local answer
  if exit and exit > now then
    if refresh then
      local j = exit / bucketMs(r) - r.size
      if j ~= cur then
        add(r, j, -1)
        add(r, cur, 1)
      end
      redis.call('ZADD', membersKey, fmt(exitMs(r, cur)), member)
    end
    answer = -1
  elseif r.total >= limit then
    answer = waitFor(r, r.total - limit + 1, now)
  else
    add(r, cur, 1)
    redis.call('ZADD', membersKey, fmt(exitMs(r, cur)), member)
    answer = 0
  end
  save(r, membersKey, holdersKey)
  return answer, r
end

-- reference.ts DistinctWindow.release.
local function release(ringKey, membersKey, holdersKey, size, member)
  local exit = tonumber(redis.call('ZSCORE', membersKey, member))
  if holdersKey then redis.call('HDEL', holdersKey, member) end
  if not exit or exit <= now then return end
  redis.call('ZREM', membersKey, member)
  local r = load(ringKey, size)
  if not r then return end
  advance(r, r.w, now)
  add(r, exit / bucketMs(r) - r.size, -1)
  save(r, membersKey, holdersKey)
end

local function tierTotal()
  local r = load(KEYS[2], tierSize)
  if not r then return 0 end
  advance(r, tierWindowMs, now)
  save(r, KEYS[3], KEYS[4])
  return r.total
end

local op = ARGV[1]
if op == 'count' then return tierTotal() end

if op == 'release' then
  local member = ARGV[4]
  if ARGV[3] == 'force' then
    release(KEYS[2], KEYS[3], KEYS[4], tierSize, member)
  elseif ARGV[3] == 'hold' then
    local exit = tonumber(redis.call('ZSCORE', KEYS[3], member))
    if exit and exit > now then
      if redis.call('HINCRBY', KEYS[4], member, -1) <= 0 then release(KEYS[2], KEYS[3], KEYS[4], tierSize, member) end
    else
      redis.call('HDEL', KEYS[4], member)
    end
  end
  if ARGV[5] == '1' then release(KEYS[5], KEYS[6], nil, repeatSize, member) end
  return tierTotal()
end

-- charge
local member = ARGV[5]
local shadow = ARGV[8] == '1'
local tier, rep, total = -2, -2, -1
if ARGV[3] ~= '' then
  local r
  tier, r = charge(KEYS[2], KEYS[3], KEYS[4], tierSize, true, tierWindowMs, tonumber(ARGV[3]), member)
  total = r.total
  if ARGV[4] == '1' then
    if tier == 0 then redis.call('HSET', KEYS[4], member, 1)
    elseif tier == -1 then redis.call('HINCRBY', KEYS[4], member, 1) end
    if tier <= 0 then redis.call('PEXPIRE', KEYS[4], math.ceil(tierWindowMs + 2 * tierWindowMs / (tierSize - 1)) + 1000) end
  end
end
if ARGV[6] ~= '' and (shadow or tier <= 0) then
  rep = charge(KEYS[5], KEYS[6], nil, repeatSize, false, tonumber(ARGV[6]), tonumber(ARGV[7]), member)
  if rep > 0 and not shadow and (tier == 0 or tier == -1) then
    -- Refused by repeated content: give back what this call charged to the tier (a refresh stays,
    -- as in the engine: a recipient already counted keeps its slot).
    if tier == 0 then
      release(KEYS[2], KEYS[3], KEYS[4], tierSize, member)
    elseif ARGV[4] == '1' then
      redis.call('HINCRBY', KEYS[4], member, -1)
    end
    total = tierTotal()
  end
end
return { tier, rep, total }
