-- Queues a DEAD or FAILED job again with its attempts reset, as if it had just been enqueued.
-- KEYS: 1 state, 2 job, 3 ready, 4 waiting, 5 tenant depth, 6 priority depth, 7 dead, 8 audio
-- ARGV: 1 now us ('' = server clock), 2 job id, 3 aging step us
-- Returns {'ok'}, {'wrong_state', current state (false: no such job)} or {'no_audio'}
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(v) return string.format('%.0f', v) end

local id = ARGV[2]
local fields = redis.call('HMGET', KEYS[2], 'state', 'tenant', 'priority')
if fields[1] ~= 'DEAD' and fields[1] ~= 'FAILED' then
  return {'wrong_state', fields[1]}
end
if redis.call('EXISTS', KEYS[8]) == 0 then
  return {'no_audio'}
end
local now = now_us()
local score = num(now - (tonumber(fields[3]) - 1) * tonumber(ARGV[3]))
redis.call('ZREM', KEYS[7], id)
redis.call('PERSIST', KEYS[2])
redis.call('PERSIST', KEYS[8])
redis.call('HSET', KEYS[2], 'state', 'QUEUED', 'attempts', 0, 'progress', 0, 'error', '', 'score', score)
redis.call('HDEL', KEYS[2], 'finished_ms', 'started_ms', 'result')
redis.call('ZADD', KEYS[3], score, id)
redis.call('ZADD', KEYS[4], num(math.floor(now / 1000)), id)
redis.call('HINCRBY', KEYS[5], fields[2], 1)
redis.call('HINCRBY', KEYS[6], fields[3], 1)
return {'ok'}
