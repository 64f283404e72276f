-- Fixed-window counter, one atomic decision.
-- The window opens with the first consumed unit and lasts `window` ms; Redis expires the counter at
-- its end, on the server's clock, so every replica agrees on when a window ends.
-- KEYS[1]: counter (units consumed in the current window)
-- ARGV: limit, window (ms), cost (0 = check without consuming)
-- Returns {allowed (1/0), remaining, reset_after (ms), retry_after (ms)}.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local reset_after = redis.call('PTTL', KEYS[1])
if reset_after < 0 then
  -- No counter (or one without expiry): a new window starts now.
  used = 0
  reset_after = window
end

local allowed
if cost == 0 then
  allowed = used < limit
else
  allowed = used + cost <= limit
end

if allowed and cost > 0 then
  if used == 0 then
    redis.call('SET', KEYS[1], cost, 'PX', window)
  else
    redis.call('INCRBY', KEYS[1], cost)
  end
  used = used + cost
end

local remaining = limit - used
if remaining < 0 then remaining = 0 end
if allowed then
  return {1, remaining, reset_after, 0}
end
return {0, remaining, reset_after, reset_after}
