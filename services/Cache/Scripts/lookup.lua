-- Single flight. KEYS: entry hash, lease. ARGV: token to grant, lease ttl (ms).
-- Returns {'hit', value, ttl (ms), tags, stored at} | {'lease'} (ARGV[1] now holds it) | {'wait', lease ttl left (ms)}.
local entry = redis.call('HMGET', KEYS[1], 'v', 'tags', 'at')
if entry[1] then
  return {'hit', entry[1], redis.call('PTTL', KEYS[1]), entry[2], entry[3]}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'lease'}
end
return {'wait', redis.call('PTTL', KEYS[2])}
