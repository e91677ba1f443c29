--[[
  Extends a lease if the caller still holds it with the same token.

  KEYS[1] the lease (string: `<token> <owner>`)
  ARGV[1] `<token> <owner>` as acquired
  ARGV[2] TTL, ms
  Returns 1 when renewed, 0 when the lease lapsed or another holds it
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
