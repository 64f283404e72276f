-- Housekeeping, then leases up to max_jobs ready jobs to one worker, atomically.
-- Housekeeping: leases that ran out send their jobs back to the queue (or to the dead letters after
-- max attempts), and retries whose backoff is over become ready. max_jobs = 0 does only housekeeping
-- (every replica runs it each second, so nothing waits for the next Lease call).
-- KEYS: 1 state, 2 ready, 3 delayed, 4 processing, 5 waiting, 6 tenant depth, 7 priority depth,
--       8 tenant active, 9 dead, 10 failed recently, 11 succeeded recently, 12 fairness cursors
-- ARGV: 1 now us ('' = server clock), 2 max jobs, 3 lease us, 4 worker id, 5 token prefix,
--       6 default concurrency, 7 per-tenant processing limit (0: none), 8 max attempts,
--       9 candidates to scan, 10 job key prefix, 11 audio key prefix
-- Returns {returned to queue, dead, became ready, {{flat job fields, audio}, ...}}
-- Job and audio keys are built from the ids found here (ARGV 10, 11), so they cannot be declared in
-- KEYS: Redis Cluster runs this only because they share the declared keys' hash tag {audio} (one slot,
-- on the node running the script). Every queue script also declares the state key, so on Garnet (lock
-- per declared key) they never interleave.
-- An id whose job hash is gone (deleted by hand, evicted) is dropped from the set it was found in,
-- so one damaged job cannot stall the queue.
local function now_us()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(v) return string.format('%.0f', v) end
local function decrement(hash, field)
  if redis.call('HINCRBY', hash, field, -1) <= 0 then
    redis.call('HDEL', hash, field)
    return true
  end
  return false
end

local now = now_us()
local now_ms = math.floor(now / 1000)
local job_prefix = ARGV[10]
local returned, dead, promoted = 0, 0, 0

for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', num(now), 'LIMIT', 0, 100)) do
  local job = job_prefix .. id
  local fields = redis.call('HMGET', job, 'tenant', 'priority', 'attempts', 'score', 'worker')
  redis.call('ZREM', KEYS[4], id)
  if fields[1] then
    decrement(KEYS[8], fields[1])
    local why = 'lease expired (worker ' .. (fields[5] or '?') .. ' did not renew or finish in time)'
    if tonumber(fields[3]) >= tonumber(ARGV[8]) then
      redis.call('HSET', job, 'state', 'DEAD', 'finished_ms', num(now_ms), 'error', why .. ' on attempt ' .. fields[3])
      redis.call('HDEL', job, 'token', 'worker', 'lease_until_ms')
      redis.call('ZADD', KEYS[9], num(now_ms), id)
      redis.call('ZADD', KEYS[10], num(now_ms), id)
      dead = dead + 1
    else
      redis.call('HSET', job, 'state', 'QUEUED', 'error', why)
      redis.call('HDEL', job, 'token', 'worker', 'lease_until_ms')
      -- Its original score: a redelivered job goes back to the front, not the end.
      redis.call('ZADD', KEYS[2], fields[4], id)
      redis.call('ZADD', KEYS[5], num(now_ms), id)
      redis.call('HINCRBY', KEYS[6], fields[1], 1)
      redis.call('HINCRBY', KEYS[7], fields[2], 1)
      returned = returned + 1
    end
  end
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', num(now), 'LIMIT', 0, 100)) do
  redis.call('ZREM', KEYS[3], id)
  local score = redis.call('HGET', job_prefix .. id, 'score')
  if score then
    redis.call('ZADD', KEYS[2], score, id)
    redis.call('HDEL', job_prefix .. id, 'next_attempt_ms')
    promoted = promoted + 1
  else
    redis.call('ZREM', KEYS[5], id)
  end
end

-- The "last minute" counters keep one minute of history (trimmed by housekeeping: readers count by score).
if ARGV[2] == '0' then
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', num(now_ms - 60000))
  redis.call('ZREMRANGEBYSCORE', KEYS[11], '-inf', num(now_ms - 60000))
end

local leased = {}
local wanted = tonumber(ARGV[2])
if wanted > 0 and redis.call('HGET', KEYS[1], 'paused') ~= '1' then
  local concurrency = tonumber(redis.call('HGET', KEYS[1], 'max_concurrency') or ARGV[6])
  wanted = math.min(wanted, concurrency - redis.call('ZCARD', KEYS[4]))
  local tenant_limit = tonumber(ARGV[7])
  local deadline = now + tonumber(ARGV[3])
  if wanted > 0 then
    -- Jobs of tenants at their processing limit are skipped, so the scan looks past the head.
    for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[9]) - 1)) do
      local job = job_prefix .. id
      local fields = redis.call('HMGET', job, 'tenant', 'priority')
      local tenant = fields[1]
      if not tenant then
        redis.call('ZREM', KEYS[2], id)
        redis.call('ZREM', KEYS[5], id)
      elseif tenant_limit == 0 or tonumber(redis.call('HGET', KEYS[8], tenant) or '0') < tenant_limit then
        local token = ARGV[5] .. ':' .. (#leased + 1)
        redis.call('ZREM', KEYS[2], id)
        redis.call('ZREM', KEYS[5], id)
        if decrement(KEYS[6], tenant) then
          -- Nothing of the tenant waits: its fairness cursors no longer matter (see enqueue.lua).
          redis.call('HDEL', KEYS[12], tenant .. '|1', tenant .. '|2', tenant .. '|3', tenant .. '|4')
        end
        decrement(KEYS[7], fields[2])
        redis.call('HINCRBY', KEYS[8], tenant, 1)
        redis.call('ZADD', KEYS[4], num(deadline), id)
        redis.call('HINCRBY', job, 'attempts', 1)
        redis.call('HSET', job, 'state', 'PROCESSING', 'token', token, 'worker', ARGV[4],
          'started_ms', num(now_ms), 'lease_us', ARGV[3], 'lease_until_ms', num(math.floor(deadline / 1000)), 'progress', 0)
        leased[#leased + 1] = {redis.call('HGETALL', job), redis.call('GET', ARGV[11] .. id) or ''}
        if #leased >= wanted then break end
      end
    end
  end
end
return {returned, dead, promoted, leased}
