--[[
  Takes a lease for its owner, or renews it when the owner already holds it. A new holder gets a
  fencing token from the resource's counter, higher than every token handed out before, so a
  write checked against the token (transition-3.lua) refuses a former holder. Both keys share
  the resource's slot.

  KEYS[1] the lease (string: `<token> <owner>`, PX the TTL)
  KEYS[2] the resource's fencing counter (string; never expires: it must only grow)
  ARGV[1] the owner (a process id)
  ARGV[2] TTL, ms
  Returns the holder's token, or 0 when another owner holds the lease
]]
local held = redis.call('GET', KEYS[1])
if held then
  local space = string.find(held, ' ', 1, true)
  if string.sub(held, space + 1) ~= ARGV[1] then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(held, 1, space - 1))
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return token
