-- Marks a leased job SUCCEEDED, if the token still holds it, and folds its processing time into the
-- moving average every wait estimate uses.
-- KEYS: 1 state, 2 job, 3 processing, 4 tenant active, 5 stats, 6 recent durations,
--       7 succeeded recently, 8 audio, 9 output
-- ARGV: 1 now us ('' = server clock), 2 job id, 3 token, 4 result, 5 output audio ('' for none),
--       6 output content type, 7 retention s, 8 output retention s, 9 average weight (0-1]
-- Returns {'ok', processing ms}, {'repeat'} when this token already completed it (a retried call),
-- or {'stale', current state (false: no such job)}
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(v) return string.format('%.0f', v) end

local fields = redis.call('HMGET', KEYS[2], 'state', 'token', 'tenant', 'started_ms', 'completed_token')
if fields[1] == 'SUCCEEDED' and fields[5] == ARGV[3] then
  return {'repeat'}
end
if fields[1] ~= 'PROCESSING' or fields[2] ~= ARGV[3] then
  return {'stale', fields[1]}
end
local now_ms = math.floor(now_us() / 1000)
local elapsed = math.max(0, now_ms - tonumber(fields[4]))

redis.call('ZREM', KEYS[3], ARGV[2])
if redis.call('HINCRBY', KEYS[4], fields[3], -1) <= 0 then redis.call('HDEL', KEYS[4], fields[3]) end
redis.call('HSET', KEYS[2], 'state', 'SUCCEEDED', 'finished_ms', num(now_ms), 'progress', 1,
  'result', ARGV[4], 'error', '', 'completed_token', ARGV[3])
redis.call('HDEL', KEYS[2], 'token', 'lease_until_ms')

local average = tonumber(redis.call('HGET', KEYS[5], 'average_ms') or tostring(elapsed))
local weight = tonumber(ARGV[9])
redis.call('HSET', KEYS[5], 'average_ms', string.format('%.3f', average + weight * (elapsed - average)))
redis.call('LPUSH', KEYS[6], elapsed)
redis.call('LTRIM', KEYS[6], 0, 199)
redis.call('ZADD', KEYS[7], num(now_ms), ARGV[2])

redis.call('EXPIRE', KEYS[2], ARGV[7])
redis.call('EXPIRE', KEYS[8], ARGV[7])
if ARGV[5] ~= '' then
  -- Its own hash (type and bytes), so it lives for OutputRetention even past the job's Retention.
  redis.call('HSET', KEYS[9], 'type', ARGV[6], 'audio', ARGV[5])
  redis.call('EXPIRE', KEYS[9], ARGV[8])
end
return {'ok', elapsed}
