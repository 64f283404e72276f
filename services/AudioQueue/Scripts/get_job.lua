-- A consistent snapshot of a job, its place in the queue and what its wait estimate needs.
-- KEYS: 1 state, 2 job, 3 ready, 4 processing, 5 stats. ARGV: 1 job id.
-- Returns {flat field/value list (empty: no such job), jobs ahead (-1: not ready), processing,
--          max concurrency (false: default), average processing ms (false: default)}
return {
  redis.call('HGETALL', KEYS[2]),
  redis.call('ZRANK', KEYS[3], ARGV[1]) or -1,
  redis.call('ZCARD', KEYS[4]),
  redis.call('HGET', KEYS[1], 'max_concurrency'),
  redis.call('HGET', KEYS[5], 'average_ms'),
}
