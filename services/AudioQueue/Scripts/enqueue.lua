-- Stores a job and its audio and queues it, atomically; honours an idempotency key and the depth limits.
-- KEYS: 1 state, 2 job, 3 audio, 4 ready, 5 waiting, 6 idempotency key, 7 fairness cursors,
--       8 tenant depth, 9 priority depth, 10 stats, 11 processing
-- ARGV: 1 id, 2 priority (1-4), 3 tenant, 4 content type, 5 audio, 6 metadata (JSON),
--       7 idempotency window s (0: no key), 8 now us ('' = server clock), 9 aging step us,
--       10 default processing ms, 11 default concurrency, 12 max depth, 13 max depth per tenant (0: none),
--       14 tenant weight
-- Returns {outcome ('queued', 'duplicate', 'queue_full', 'tenant_full'), job id, jobs ahead (-1: not
--          ready), processing, max concurrency, average processing ms, depth}
local function now_us()
  if ARGV[8] ~= '' then return tonumber(ARGV[8]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function num(v) return string.format('%.0f', v) end

local concurrency = tonumber(redis.call('HGET', KEYS[1], 'max_concurrency') or ARGV[11])
local average_ms = tonumber(redis.call('HGET', KEYS[10], 'average_ms') or ARGV[10])
local function reply(outcome, id, ahead)
  return {outcome, id, ahead, redis.call('ZCARD', KEYS[11]), concurrency, tostring(average_ms), redis.call('ZCARD', KEYS[5])}
end

if ARGV[7] ~= '0' then
  local existing = redis.call('GET', KEYS[6])
  if existing then
    return reply('duplicate', existing, redis.call('ZRANK', KEYS[4], existing) or -1)
  end
end

local tenant = ARGV[3]
local depth = redis.call('ZCARD', KEYS[5])
if depth >= tonumber(ARGV[12]) then
  return reply('queue_full', '', -1)
end
local tenant_depth = tonumber(redis.call('HGET', KEYS[8], tenant) or '0')
if ARGV[13] ~= '0' and tenant_depth >= tonumber(ARGV[13]) then
  return reply('tenant_full', '', -1)
end

local now = now_us()
local now_ms = math.floor(now / 1000)
local id = ARGV[1]
local priority = tonumber(ARGV[2])

-- Fairness: each tenant's jobs of one priority start one "fair share" apart (the measured processing
-- time over the concurrency, over the tenant's weight), so a burst is spread into the future and
-- interleaves with other tenants' jobs. The cursor never runs further ahead than the tenant's queued
-- jobs justify (cancelled jobs give their share back).
local spacing = math.max(1, average_ms * 1000 / math.max(1, concurrency) / tonumber(ARGV[14]))
local cursor_field = tenant .. '|' .. priority
local cursor = tonumber(redis.call('HGET', KEYS[7], cursor_field) or '0')
local start = math.max(now, math.min(cursor, now + tenant_depth * spacing))
redis.call('HSET', KEYS[7], cursor_field, num(start + spacing))
-- Aging: a job of priority p counts as enqueued (p - 1) aging steps earlier, so after waiting one
-- step it stands level with a new job one priority higher. Lower score = leased sooner.
local score = num(start - (priority - 1) * tonumber(ARGV[9]))

redis.call('SET', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[2],
  'id', id, 'state', 'QUEUED', 'priority', priority, 'tenant', tenant,
  'content_type', ARGV[4], 'audio_bytes', string.len(ARGV[5]), 'metadata', ARGV[6],
  'attempts', 0, 'progress', 0, 'created_ms', num(now_ms), 'score', score)
redis.call('ZADD', KEYS[4], score, id)
redis.call('ZADD', KEYS[5], num(now_ms), id)
redis.call('HINCRBY', KEYS[8], tenant, 1)
redis.call('HINCRBY', KEYS[9], priority, 1)

if ARGV[7] ~= '0' then
  redis.call('SET', KEYS[6], id, 'EX', ARGV[7])
end
return reply('queued', id, redis.call('ZRANK', KEYS[4], id))
