-- Removes an entry found invalid (tag invalidated), unless it was replaced in the meantime.
-- KEYS[1]: entry hash. ARGV[1]: the stored-at time that was judged.
if redis.call('HGET', KEYS[1], 'at') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
