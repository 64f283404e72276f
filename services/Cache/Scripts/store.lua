-- Stores an entry (Set), or the value computed under a lease (Fill).
-- KEYS: entry hash, lease. ARGV: value, ttl (ms), tags ("\n"-joined), lease token ('' for Set).
-- Returns 1 when stored; 0 when another caller holds the lease (the Fill came too late).
if ARGV[4] ~= '' then
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= ARGV[4] then
    return 0
  end
  -- Our lease, or it expired and nobody took over: the value is still the one to keep.
  if holder then
    redis.call('DEL', KEYS[2])
  end
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'tags', ARGV[3], 'at', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
