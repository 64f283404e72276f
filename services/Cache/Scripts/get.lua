-- One entry, consistently. KEYS[1]: entry hash {v = value, tags = tags joined by "\n", at = stored at (us)}.
-- Returns {value, ttl (ms), tags, stored at} or nil.
local entry = redis.call('HMGET', KEYS[1], 'v', 'tags', 'at')
if not entry[1] then
  return nil
end
return {entry[1], redis.call('PTTL', KEYS[1]), entry[2], entry[3]}
