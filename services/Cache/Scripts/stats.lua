-- Folds this replica's counters into the namespace's stats, drops expired entries from the index
-- (counting them as evictions) and returns the totals.
-- KEYS: stats hash, index zset, sizes hash. ARGV: hits, misses, fills, lease_waits, l1_hits to add.
local time = redis.call('TIME')
local now = string.format('%.0f', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
local names = {'hits', 'misses', 'fills', 'lease_waits', 'l1_hits'}
for i = 1, #names do
  if tonumber(ARGV[i]) > 0 then
    redis.call('HINCRBY', KEYS[1], names[i], ARGV[i])
  end
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #expired > 0 then
  local freed = 0
  for i = 1, #expired do
    freed = freed + tonumber(redis.call('HGET', KEYS[3], expired[i]) or '0')
    redis.call('HDEL', KEYS[3], expired[i])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('HINCRBY', KEYS[1], 'evictions', #expired)
  redis.call('HINCRBY', KEYS[1], 'bytes', string.format('%d', -freed))
end
local stats = redis.call('HMGET', KEYS[1], 'hits', 'misses', 'fills', 'lease_waits', 'evictions', 'l1_hits', 'bytes')
local reply = {}
for i = 1, 7 do
  reply[i] = tonumber(stats[i] or '0')
end
reply[8] = redis.call('ZCARD', KEYS[2])
return reply
