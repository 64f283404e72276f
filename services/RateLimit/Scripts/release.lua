-- Gives back a lease. KEYS[1]: the lease set. ARGV: time in us ('' = server clock), lease id.
-- Returns 1 when the lease was held and had not expired; an expired lease is removed and returns 0.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local expires = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not expires then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[2])
if tonumber(expires) <= now then
  return 0
end
return 1
