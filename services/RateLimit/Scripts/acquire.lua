-- Takes one lease of a concurrency limit, atomically.
-- KEYS[1]  sorted set of leases: member = lease id, score = expiry time (us).
-- ARGV     time in us ('' = server clock), limit, lease ttl (us), lease id.
-- Returns {allowed (1/0), remaining, retry_after (us): when the oldest lease expires}.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local limit = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])

-- Leases whose holder never released them free their capacity here.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
local held = redis.call('ZCARD', KEYS[1])
if held < limit then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[4])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((tonumber(last[2]) - now) / 1000)))
  return {1, limit - held - 1, 0}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tonumber(first[2]) - now}
