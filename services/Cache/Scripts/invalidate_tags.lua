-- Marks tags invalidated now: entries stored before this moment that carry one of them are misses.
-- KEYS[1]: the namespace's tag hash {tag = invalidated at (us)}. ARGV: tags.
local time = redis.call('TIME')
local now = string.format('%.0f', tonumber(time[1]) * 1000000 + tonumber(time[2]))
for i = 1, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], now)
end
return #ARGV
