-- A consistent snapshot of a job and its place in the queue.
-- KEYS: job hash, queued zset. ARGV: job id.
-- Returns {flat field/value list (empty when there is no such job), jobs ahead (-1 when not queued)}.
local fields = redis.call('HGETALL', KEYS[1])
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
return {fields, rank or -1}
