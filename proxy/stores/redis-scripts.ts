// Lua for the Redis store: each decision is one script, so N proxies on one Redis see one counter (mirrors memory.ts).

/** Shared prologue: the clock (ARGV[1] ms, or Redis TIME when negative) and violation bookkeeping. */
const PROLOGUE = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function violation(banKey, violKey, threshold, banMs)
  if threshold <= 0 then return 0 end
  redis.call('LPUSH', violKey, now)
  redis.call('LTRIM', violKey, 0, threshold - 1)
  redis.call('PEXPIRE', violKey, math.ceil(banMs))
  if redis.call('LLEN', violKey) == threshold and tonumber(redis.call('LINDEX', violKey, threshold - 1)) > now - banMs then
    redis.call('SET', banKey, now + banMs, 'PX', math.ceil(banMs))
    redis.call('DEL', violKey)
    return 1
  end
  return 0
end
local function banLeft(banKey)
  local u = tonumber(redis.call('GET', banKey) or '0')
  if u > now then return u - now end
  return 0
end
`;

/**
 * KEYS: ban, violations, limit keys...  ARGV: now, threshold (-1 = no penalty), banMs, n, then per limit
 * algorithm code (1 token_bucket, 2 sliding_window, 3 fixed_window), rate, burst, windowMs.
 * Returns {status, index, retryMs, remaining1, reset1, ...}; status 1 allowed, 0 limited, 2 limited + ban started, -1 banned.
 */
export const HIT_LUA = `${PROLOGUE}
local threshold = tonumber(ARGV[2])
local banMs = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
if threshold >= 0 then
  local left = banLeft(KEYS[1])
  if left > 0 then return {-1, 0, math.ceil(left)} end
end
local ev = {}
local refused = 0
for i = 1, n do
  local key = KEYS[2 + i]
  local b = 4 + (i - 1) * 4
  local algo, rate, burst, win = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local e = {key = key, algo = algo, rate = rate, burst = burst, win = win}
  if algo == 1 then
    local raw = redis.call('GET', key)
    local tokens, ts = burst, now
    if raw then
      local sp = string.find(raw, ' ', 1, true)
      local ot, ots = tonumber(string.sub(raw, 1, sp - 1)), tonumber(string.sub(raw, sp + 1))
      ts = math.max(ots, now)
      tokens = math.min(burst, ot + math.max(0, now - ots) * rate / win)
    end
    e.allowed = tokens + 1e-9 >= 1
    e.after = tokens
    if e.allowed then e.after = tokens - 1 end
    e.ts = ts
    e.retry = 0
    if not e.allowed then e.retry = math.ceil((1 - tokens) * win / rate) end
    e.remaining = math.floor(e.after + 1e-9)
    e.reset = math.ceil((burst - e.after) * win / rate)
  elseif algo == 2 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
    local count = redis.call('ZCARD', key)
    e.allowed = count < rate
    e.retry, e.remaining, e.reset = 0, 0, win
    if e.allowed then
      e.remaining = rate - count - 1
    else
      local old = redis.call('ZRANGE', key, count - rate, count - rate, 'WITHSCORES')
      e.retry = tonumber(old[2]) + win - now
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      e.reset = tonumber(newest[2]) + win - now
    end
  else
    local start = math.floor(now / win) * win
    local raw = redis.call('GET', key)
    local count = 0
    if raw then
      local sp = string.find(raw, ' ', 1, true)
      if tonumber(string.sub(raw, 1, sp - 1)) == start then count = tonumber(string.sub(raw, sp + 1)) end
    end
    e.start, e.count = start, count
    e.allowed = count < rate
    e.retry, e.remaining, e.reset = 0, 0, start + win - now
    if e.allowed then e.remaining = rate - count - 1 else e.retry = start + win - now end
  end
  if not e.allowed and refused == 0 then refused = i end
  ev[i] = e
end
local out = {1, 0, 0}
if refused == 0 then
  for i = 1, n do
    local e = ev[i]
    if e.algo == 1 then
      redis.call('SET', e.key, string.format('%.17g %d', e.after, e.ts), 'PX', math.max(1, e.reset))
    elseif e.algo == 2 then
      local member = now .. ':' .. redis.call('ZCOUNT', e.key, now, now)
      redis.call('ZADD', e.key, now, member)
      redis.call('PEXPIRE', e.key, math.ceil(e.win))
    else
      redis.call('SET', e.key, string.format('%d %d', e.start, e.count + 1), 'PX', math.max(1, math.ceil(e.reset)))
    end
    out[3 + 2 * i - 1] = e.remaining
    out[3 + 2 * i] = e.reset
  end
  return out
end
out[1] = 0
if threshold >= 0 and violation(KEYS[1], KEYS[2], threshold, banMs) == 1 then out[1] = 2 end
out[2] = refused - 1
out[3] = math.ceil(ev[refused].retry)
for i = 1, n do
  local e = ev[i]
  local r = 0
  if e.allowed then r = e.remaining + 1 end
  out[3 + 2 * i - 1] = r
  out[3 + 2 * i] = math.ceil(e.reset)
end
return out
`;

/** Drops expired charges of a budget (zset id -> expiry, hash id -> amount and '_t' total). */
const BUDGET_PRUNE = `
local function prune(z, h)
  while true do
    local old = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 500)
    if #old == 0 then break end
    local amts = redis.call('HMGET', h, unpack(old))
    local freed = 0
    for i = 1, #amts do freed = freed + (tonumber(amts[i]) or 0) end
    redis.call('HDEL', h, unpack(old))
    redis.call('ZREM', z, unpack(old))
    redis.call('HINCRBY', h, '_t', -freed)
  end
  return tonumber(redis.call('HGET', h, '_t') or '0')
end
`;

/**
 * KEYS: charges zset, amounts hash, ban, violations.
 * ARGV: now, threshold, banMs, amount, budget, windowMs, id, pendingMaxMs.  Returns {allowed, remaining, retryMs, banStarted}.
 */
export const RESERVE_LUA = `${PROLOGUE}${BUDGET_PRUNE}
local threshold, banMs = tonumber(ARGV[2]), tonumber(ARGV[3])
local amount, budget, win, id, pmax = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local total = prune(KEYS[1], KEYS[2])
if total < budget and total + amount <= budget then
  redis.call('ZADD', KEYS[1], now + pmax, id)
  redis.call('HSET', KEYS[2], id, amount)
  redis.call('HINCRBY', KEYS[2], '_t', amount)
  redis.call('PEXPIRE', KEYS[1], pmax)
  redis.call('PEXPIRE', KEYS[2], pmax)
  return {1, budget - total - amount, 0, 0}
end
local retry = win
if amount <= budget then
  local need = math.max(total + amount - budget, total - budget + 1)
  local freed, from, found = 0, 0, false
  while not found do
    local rows = redis.call('ZRANGE', KEYS[1], from, from + 99, 'WITHSCORES')
    if #rows == 0 then break end
    for i = 1, #rows, 2 do
      freed = freed + (tonumber(redis.call('HGET', KEYS[2], rows[i]) or '0'))
      if freed >= need then
        retry = math.min(win, math.max(1, tonumber(rows[i + 1]) - now))
        found = true
        break
      end
    end
    from = from + 100
  end
end
local banned = 0
if threshold >= 0 then banned = violation(KEYS[3], KEYS[4], threshold, banMs) end
return {0, math.max(0, budget - total), math.ceil(retry), banned}
`;

/**
 * Settles a batch of reservations, in order. KEYS: charges zset and amounts hash of each.
 * ARGV: now, pendingMaxMs, n, then id, amount, windowMs of each.
 */
export const SETTLE_LUA = `${PROLOGUE}${BUDGET_PRUNE}
local pmax, n = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 0, n - 1 do
  local z, h = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local id, amount, win = ARGV[4 + 3 * i], tonumber(ARGV[5 + 3 * i]), tonumber(ARGV[6 + 3 * i])
  prune(z, h)
  local old = tonumber(redis.call('HGET', h, id) or '0')
  redis.call('HSET', h, id, amount)
  redis.call('HINCRBY', h, '_t', amount - old)
  redis.call('ZADD', z, now + win, id)
  local ttl = math.max(pmax, win)
  redis.call('PEXPIRE', z, ttl)
  redis.call('PEXPIRE', h, ttl)
end
return n
`;

/** KEYS: ban.  ARGV: now.  Returns ms of ban left. */
export const BAN_TTL_LUA = `${PROLOGUE}
return math.ceil(banLeft(KEYS[1]))
`;
