-- Extends a lease by its duration from now and records progress, if the token still holds the job.
-- KEYS: 1 state, 2 job, 3 processing. ARGV: 1 now us ('' = server clock), 2 job id, 3 token, 4 progress
-- Returns {'ok', lease deadline ms} or {'stale', current state (false: no such job)}
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(v) return string.format('%.0f', v) end

local fields = redis.call('HMGET', KEYS[2], 'state', 'token', 'lease_us')
if fields[1] ~= 'PROCESSING' or fields[2] ~= ARGV[3] then
  return {'stale', fields[1]}
end
local deadline = now_us() + tonumber(fields[3])
redis.call('ZADD', KEYS[3], num(deadline), ARGV[2])
local deadline_ms = num(math.floor(deadline / 1000))
redis.call('HSET', KEYS[2], 'progress', ARGV[4], 'lease_until_ms', deadline_ms)
return {'ok', deadline_ms}
