-- Cancels a QUEUED or PROCESSING job (its worker's lease token stops working).
-- KEYS: 1 state, 2 job, 3 ready, 4 delayed, 5 processing, 6 waiting, 7 tenant depth,
--       8 priority depth, 9 tenant active, 10 audio, 11 fairness cursors
-- ARGV: 1 now us ('' = server clock), 2 job id, 3 reason, 4 retention s
-- Returns {'ok'} or {'final', current state (false: no such job)}
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function decrement(hash, field)
  if redis.call('HINCRBY', hash, field, -1) <= 0 then
    redis.call('HDEL', hash, field)
    return true
  end
  return false
end

local id = ARGV[2]
local fields = redis.call('HMGET', KEYS[2], 'state', 'tenant', 'priority')
if fields[1] == 'QUEUED' then
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[6], id)
  if decrement(KEYS[7], fields[2]) then
    local t = fields[2]
    redis.call('HDEL', KEYS[11], t .. '|1', t .. '|2', t .. '|3', t .. '|4')
  end
  decrement(KEYS[8], fields[3])
elseif fields[1] == 'PROCESSING' then
  redis.call('ZREM', KEYS[5], id)
  decrement(KEYS[9], fields[2])
else
  return {'final', fields[1]}
end
redis.call('HSET', KEYS[2], 'state', 'CANCELLED', 'error', ARGV[3],
  'finished_ms', string.format('%.0f', math.floor(now_us() / 1000)))
redis.call('HDEL', KEYS[2], 'token', 'worker', 'lease_until_ms', 'next_attempt_ms')
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[10], ARGV[4])
return {'ok'}
