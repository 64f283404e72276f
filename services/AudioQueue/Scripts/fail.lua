-- Ends a leased attempt without success, if the token still holds the job:
--   'retry'   queued again after the backoff, or DEAD once max attempts are used;
--   'fatal'   FAILED for good;
--   'release' given back untouched (the attempt does not count), ready at once.
-- KEYS: 1 state, 2 job, 3 processing, 4 tenant active, 5 ready, 6 delayed, 7 waiting,
--       8 tenant depth, 9 priority depth, 10 dead, 11 failed recently, 12 audio
-- ARGV: 1 now us ('' = server clock), 2 job id, 3 token, 4 error, 5 mode, 6 first backoff us,
--       7 max attempts, 8 retention s, 9 max backoff us, 10 jitter (random 0-1)
-- Returns {'ok', new state, next attempt ms (0: none)} or {'stale', current state (false: no such job)}
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(v) return string.format('%.0f', v) end

local id, mode = ARGV[2], ARGV[5]
local fields = redis.call('HMGET', KEYS[2], 'state', 'token', 'tenant', 'priority', 'attempts', 'score')
if fields[1] ~= 'PROCESSING' or fields[2] ~= ARGV[3] then
  return {'stale', fields[1]}
end
local now = now_us()
local now_ms = math.floor(now / 1000)
local tenant, priority, attempts = fields[3], fields[4], tonumber(fields[5])

redis.call('ZREM', KEYS[3], id)
if redis.call('HINCRBY', KEYS[4], tenant, -1) <= 0 then redis.call('HDEL', KEYS[4], tenant) end
redis.call('HDEL', KEYS[2], 'token', 'worker', 'lease_until_ms')

if mode == 'fatal' or (mode == 'retry' and attempts >= tonumber(ARGV[7])) then
  local state = mode == 'fatal' and 'FAILED' or 'DEAD'
  redis.call('HSET', KEYS[2], 'state', state, 'error', ARGV[4], 'finished_ms', num(now_ms))
  redis.call('ZADD', KEYS[11], num(now_ms), id)
  if state == 'DEAD' then
    redis.call('ZADD', KEYS[10], num(now_ms), id)
  else
    redis.call('EXPIRE', KEYS[2], ARGV[8])
    redis.call('EXPIRE', KEYS[12], ARGV[8])
  end
  return {'ok', state, 0}
end

redis.call('ZADD', KEYS[7], num(now_ms), id)
redis.call('HINCRBY', KEYS[8], tenant, 1)
redis.call('HINCRBY', KEYS[9], priority, 1)
if mode == 'release' then
  redis.call('HINCRBY', KEYS[2], 'attempts', -1)
  redis.call('HSET', KEYS[2], 'state', 'QUEUED', 'progress', 0)
  redis.call('ZADD', KEYS[5], fields[6], id)
  return {'ok', 'QUEUED', 0}
end
-- Exponential backoff with "equal jitter": half the delay fixed, half random, so retries spread out.
local delay = math.min(tonumber(ARGV[9]), tonumber(ARGV[6]) * 2 ^ math.min(attempts - 1, 30))
local ready = now + delay / 2 + delay / 2 * tonumber(ARGV[10])
local ready_ms = math.floor(ready / 1000)
redis.call('HSET', KEYS[2], 'state', 'QUEUED', 'progress', 0, 'error', ARGV[4], 'next_attempt_ms', num(ready_ms))
redis.call('ZADD', KEYS[6], num(ready), id)
return {'ok', 'QUEUED', ready_ms}
