--[[
  Gives a lease up, only if the caller still holds it with the same token (never another's).

  KEYS[1] the lease (string: `<token> <owner>`)
  ARGV[1] `<token> <owner>` as acquired
  Returns 1 when released, 0 otherwise
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
