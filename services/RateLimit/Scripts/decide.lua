-- One atomic decision for one or more rate-limit checks (Check and CheckMany, and Envoy's descriptors).
--
-- KEYS[i]  state of check i: one string per (key, policy), so any check can be snapshotted and restored.
-- ARGV[1]  time in microseconds, or '' to use the server clock (TIME): every replica agrees on time.
-- ARGV[2]  '1' = all or nothing: unless every check passes, nothing is consumed.
-- Then 6 values per check: algorithm (1 fixed window, 2 sliding window, 3 token bucket / GCRA),
--   limit, window (us), burst, cost (0 = check without consuming), shadow ('1' = report, never deny).
-- Returns {overall allowed, then per check: allowed, remaining, reset_after (us), retry_after (us), over_limit}.

local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local all_or_nothing = ARGV[2] == '1'

local function expire_ms(us)
  return math.max(1, math.ceil(us / 1000))
end

-- Fixed window: opens with a key's first request, `limit` units until it closes.
-- State "start:used".
local function fixed_window(key, limit, window, cost, write)
  local start, used = now, 0
  local state = redis.call('GET', key)
  if state then
    local s, u = string.match(state, '^(%d+):(%d+)$')
    s, u = tonumber(s), tonumber(u)
    if s and s <= now and now < s + window then
      start, used = s, u
    end
  end
  local reset = start + window - now
  local allowed = used + math.max(cost, 1) <= limit
  if allowed and cost > 0 and write then
    used = used + cost
    redis.call('SET', key, string.format('%.0f:%d', start, used), 'PX', expire_ms(reset))
  end
  local retry = 0
  if not allowed then retry = reset end
  return allowed, limit - used, reset, retry
end

-- Sliding-window counter: the previous aligned window's count, weighted by how much of it still
-- overlaps the sliding window, plus the current window's count. State "window_start:current:previous".
local function sliding_window(key, limit, window, cost, write)
  local start = now - (now % window)
  local current, previous = 0, 0
  local state = redis.call('GET', key)
  if state then
    local s, c, p = string.match(state, '^(%d+):(%d+):(%d+)$')
    s, c, p = tonumber(s), tonumber(c), tonumber(p)
    if s == start then
      current, previous = c, p
    elseif s == start - window then
      previous = c
    end
  end
  local elapsed = now - start
  local estimate = previous * (window - elapsed) / window + current
  local need = math.max(cost, 1)
  local allowed = estimate + need <= limit
  if allowed and cost > 0 and write then
    current = current + cost
    estimate = estimate + cost
    redis.call('SET', key, string.format('%.0f:%d:%d', start, current, previous), 'PX', expire_ms(2 * window - elapsed))
  end

  local retry = 0
  if not allowed then
    if current + need <= limit then
      -- Wait until enough of the previous window has slid out.
      retry = math.ceil((window - elapsed) - (limit - current - need) * window / previous)
    else
      -- Wait for the next window, then until enough of this one has slid out.
      retry = (window - elapsed) + math.max(0, math.ceil(window - (limit - need) * window / current))
    end
  end
  local reset = 0
  if current > 0 then
    reset = (window - elapsed) + window
  elseif previous > 0 then
    reset = window - elapsed
  end
  return allowed, math.floor(limit - estimate), reset, retry
end

-- GCRA (generic cell rate algorithm), a token bucket without a refill loop: one unit every
-- window / limit, up to `burst` units at once. State: the theoretical arrival time (TAT).
local function token_bucket(key, limit, window, burst, cost, write)
  local interval = window / limit
  local tolerance = interval * burst
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local allow_at = tat + interval * math.max(cost, 1) - tolerance
  local allowed = allow_at <= now
  if allowed and cost > 0 and write then
    tat = tat + interval * cost
    redis.call('SET', key, string.format('%.0f', tat), 'PX', expire_ms(tat - now))
  end
  local retry = 0
  if not allowed then retry = math.ceil(allow_at - now) end
  return allowed, math.floor((tolerance - (tat - now)) / interval), math.ceil(tat - now), retry
end

local function decide(i, write)
  local base = 2 + (i - 1) * 6
  local algorithm = tonumber(ARGV[base + 1])
  local limit = tonumber(ARGV[base + 2])
  local window = tonumber(ARGV[base + 3])
  local burst = tonumber(ARGV[base + 4])
  local cost = tonumber(ARGV[base + 5])
  local shadow = ARGV[base + 6] == '1'
  local allowed, remaining, reset, retry
  if algorithm == 1 then
    allowed, remaining, reset, retry = fixed_window(KEYS[i], limit, window, cost, write)
  elseif algorithm == 2 then
    allowed, remaining, reset, retry = sliding_window(KEYS[i], limit, window, cost, write)
  else
    allowed, remaining, reset, retry = token_bucket(KEYS[i], limit, window, burst, cost, write)
  end
  local over = 0
  if not allowed then over = 1 end
  if shadow then allowed = true end
  return {allowed and 1 or 0, math.max(0, remaining), math.max(0, reset), retry, over}
end

local snapshots = {}
if all_or_nothing then
  for i = 1, #KEYS do
    snapshots[i] = {redis.call('GET', KEYS[i]), redis.call('PTTL', KEYS[i])}
  end
end

local overall = 1
local results = {}
for i = 1, #KEYS do
  results[i] = decide(i, true)
  if results[i][1] == 0 then overall = 0 end
end

if all_or_nothing and overall == 0 then
  -- Put every key back as it was (in reverse, so a key checked twice ends at its first snapshot),
  -- then report what each check alone would have decided.
  for i = #KEYS, 1, -1 do
    local value, ttl = snapshots[i][1], snapshots[i][2]
    if not value then
      redis.call('DEL', KEYS[i])
    elseif ttl == -1 then
      redis.call('SET', KEYS[i], value)
    else
      -- PTTL 0: in its last millisecond; it must still expire.
      redis.call('SET', KEYS[i], value, 'PX', math.max(ttl, 1))
    end
  end
  for i = 1, #KEYS do
    results[i] = decide(i, false)
  end
end

local reply = {overall}
for i = 1, #KEYS do
  for j = 1, 5 do
    table.insert(reply, results[i][j])
  end
end
return reply
