-- Keeps the namespace's index of entries (for keys, bytes, evictions and Clear).
-- KEYS: index zset {key = expires at (ms)}, sizes hash {key = bytes}, stats hash (field bytes = total).
-- ARGV: key, ttl (ms), bytes ('' = the entry was removed).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  if old > 0 then
    redis.call('HDEL', KEYS[2], ARGV[1])
    redis.call('HINCRBY', KEYS[3], 'bytes', string.format('%d', -old))
  end
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[3], 'bytes', string.format('%d', tonumber(ARGV[3]) - old))
return 1
