--[[
  Applies a batch of tenant-catalog rows if nobody changed the catalog since the caller read it
  (compare and set on the version), bumps the version and tells the fleet.

  KEYS[1..4] the catalog's tables: tenants, gone, keys, revoked (hashes)
  KEYS[5]    the version (string)
  ARGV[1]    the version the caller read
  ARGV[2]    the change channel; ARGV[3] the caller's origin id
  ARGV[4..]  rows, three args each: `<index>` (table 1-4) to set or `-<index>` to delete, the
             field, the value ('' when deleting)
  Returns the new version, or -1 when the version moved (read again and retry)
]]
local current = tonumber(redis.call('GET', KEYS[5]) or '0')
if current ~= tonumber(ARGV[1]) then return -1 end
if #ARGV < 4 then return current end
for i = 4, #ARGV, 3 do
  local index = tonumber(ARGV[i])
  if index < 0 then
    redis.call('HDEL', KEYS[-index], ARGV[i + 1])
  else
    redis.call('HSET', KEYS[index], ARGV[i + 1], ARGV[i + 2])
  end
end
local version = redis.call('INCR', KEYS[5])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. '\n' .. version)
return version
