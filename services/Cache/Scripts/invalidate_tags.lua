-- Marks tags invalidated now: entries stored before this moment that carry one of them are misses.
-- KEYS: the namespace's tag hash {tag = invalidated at (us)}, the same tags by time (zset).
-- ARGV: the longest TTL an entry can have (us), then the tags.
-- Marks older than the longest TTL can concern no live entry, so they are dropped here: the hash
-- stays as small as the set of tags invalidated within that time.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local horizon = string.format('%.0f', now - tonumber(ARGV[1]))
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', horizon)
for i = 1, #expired do
  redis.call('HDEL', KEYS[1], expired[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', horizon)
local at = string.format('%.0f', now)
for i = 2, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], at)
  redis.call('ZADD', KEYS[2], at, ARGV[i])
end
return #ARGV - 1
