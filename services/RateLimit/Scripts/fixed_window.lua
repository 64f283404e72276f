-- Fixed-window counter, one atomic decision.
-- KEYS[1]: hash {start = window start (ms), used = units consumed in that window}
-- ARGV: limit, window (ms), cost (0 = check without consuming)
-- Returns {allowed (1/0), remaining, reset_after (ms), retry_after (ms)}.
-- Time comes from the server so every replica agrees on window boundaries.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local start = now - (now % window)
local reset_after = start + window - now

local used = 0
local state = redis.call('HMGET', KEYS[1], 'start', 'used')
if tonumber(state[1]) == start then
  used = tonumber(state[2]) or 0
end

local allowed
if cost == 0 then
  allowed = used < limit
else
  allowed = used + cost <= limit
end

if allowed and cost > 0 then
  used = used + cost
  redis.call('HSET', KEYS[1], 'start', start, 'used', used)
  redis.call('PEXPIRE', KEYS[1], reset_after)
end

local remaining = limit - used
if remaining < 0 then remaining = 0 end
if allowed then
  return {1, remaining, reset_after, 0}
end
return {0, remaining, reset_after, reset_after}
