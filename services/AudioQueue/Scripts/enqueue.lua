-- Stores a job and its audio and queues it, atomically; honours an idempotency key.
-- KEYS: job hash, audio, queued zset, sequence counter, idempotency key
-- ARGV: id, priority (1-4), tenant, content_type, audio, metadata (JSON), use idempotency (1/0),
--       idempotency window (s)
-- Returns {job id, jobs ahead (-1 when the job is no longer queued), duplicate (1/0)}.
local id = ARGV[1]
if ARGV[7] == '1' then
  local existing = redis.call('GET', KEYS[5])
  if existing then
    local rank = redis.call('ZRANK', KEYS[3], existing)
    return {existing, rank or -1, 1}
  end
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local seq = redis.call('INCR', KEYS[4])
local priority = tonumber(ARGV[2])

redis.call('SET', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1],
  'id', id, 'state', 'QUEUED', 'priority', priority, 'tenant', ARGV[3],
  'content_type', ARGV[4], 'audio_bytes', string.len(ARGV[5]), 'metadata', ARGV[6],
  'attempts', 0, 'progress', 0, 'created_ms', now)

-- Higher priority first, then FIFO by sequence. The score is formatted explicitly: Lua would print
-- large numbers in exponent form and lose the sequence.
local score = string.format('%.0f', (4 - priority) * 1e15 + seq)
redis.call('ZADD', KEYS[3], score, id)

if ARGV[7] == '1' then
  redis.call('SET', KEYS[5], id, 'EX', ARGV[8])
end
return {id, redis.call('ZRANK', KEYS[3], id), 0}
