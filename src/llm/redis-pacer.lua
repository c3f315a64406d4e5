-- The pacing rules of src/domain/pacing.ts, run atomically in Redis so that every worker
-- on every host paces one provider account and model together. A line-by-line port: keep
-- the two in step (test/integration/redis-pacer.test.ts runs the same steps on both).
--
-- KEYS[1]: the state hash (the fields of PacerState). KEYS[2]: a sorted set of workers by
-- last call, for the fallback share when Redis is unreachable.
-- ARGV[1]: JSON {op, now?, caps, c (constants), worker, ...op arguments}.
-- Returns JSON. Time is Redis's own clock (TIME) unless the caller passes `now` (tests).

local a = cjson.decode(ARGV[1])
local C = a.c
local now = a.now
if now == nil or now == cjson.null then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local INF = math.huge

local FIELDS = { 'rCap', 'tCap', 'rLim', 'tLim', 'rK', 'tK', 'rLvl', 'tLvl', 'at', 'cutAt', 'cutFactor', 'pausedUntil',
  'trust', 'share', 'floorLvl', 'cumR', 'cumT', 'seen1', 'seen2', 'seen3', 'seen4', 'seen5',
  'seenTok1', 'seenTok2', 'seenTok3', 'seenTok4', 'seenTok5' }

local s = {}
local raw = redis.call('HGETALL', KEYS[1])
for i = 1, #raw, 2 do s[raw[i]] = tonumber(raw[i + 1]) end

local function cap(d) return d == 'r' and s.rCap or s.tCap end
local function lim(d) return d == 'r' and s.rLim or s.tLim end
local function learnedK(d) return d == 'r' and s.rK or s.tK end
local function level(d) return d == 'r' and s.rLvl or s.tLvl end
local function setLevel(d, v) if d == 'r' then s.rLvl = v else s.tLvl = v end end

local function limitOf(d)
  local c, l = cap(d), lim(d)
  local L
  if c > 0 and l > 0 then L = math.min(c, l) elseif c > 0 then L = c else L = l end
  return L * s.share
end

local function capacityOf(d)
  local L = limitOf(d)
  if L == 0 then return 0 end
  local c = cap(d)
  local k = learnedK(d) * s.share
  local capacity
  if k > 0 then capacity = math.min(k, L) else capacity = L / 60 end
  if s.trust ~= 1 then capacity = math.min(capacity, L / 60) end
  if c > 0 and (lim(d) == 0 or c < lim(d)) then capacity = math.min(capacity, c * s.share / 60) end
  return capacity
end

local function factorAt(t)
  if s.cutAt == 0 then return C.FACTOR_MAX end
  return math.min(C.FACTOR_MAX, s.cutFactor + C.FACTOR_RECOVERY * math.max(0, t - s.cutAt) / 1000)
end

local function paceRate(d, t) return limitOf(d) * factorAt(t) / 60000 end

local function admissionRatePerSec(charge, t)
  local f = factorAt(t)
  local byR, byT = INF, INF
  if s.rLim > 0 or s.rCap > 0 then byR = limitOf('r') * f / 60 end
  if (s.tLim > 0 or s.tCap > 0) and charge > 0 then byT = limitOf('t') * f / 60 / charge end
  return math.min(byR, byT)
end

local function refill(t, floorCharge)
  local dt = t - s.at
  if dt <= 0 then return end
  local f = factorAt(s.at + dt / 2)
  for _, d in ipairs({ 'r', 't' }) do
    local L = limitOf(d)
    if L > 0 then setLevel(d, math.min(capacityOf(d), level(d) + dt * L * f / 60000)) end
  end
  local floorRate = C.FLOOR_SHARE * admissionRatePerSec(floorCharge, s.at + dt / 2)
  if floorRate < INF then s.floorLvl = math.min(1, s.floorLvl + dt * floorRate / 1000) else s.floorLvl = 1 end
  s.at = t
end

local function startLevel(d)
  if d == 'r' then return math.min(1, capacityOf(d)) end
  return 0
end

local function dimWaitMs(d, amount, t)
  local L = limitOf(d)
  if L == 0 then return 0 end
  local need = math.min(amount, capacityOf(d))
  local deficit = need - level(d)
  if deficit <= 1e-9 then return 0 end
  return deficit / paceRate(d, t)
end

local function mostUrgentWaiting(t)
  for p = 1, 5 do if s['seen' .. p] > t then return p end end
  return 6
end

local function lessUrgentWaiting(p, t)
  for q = p + 1, 5 do if s['seen' .. q] > t then return q end end
  return nil
end

local function init()
  s = { rCap = a.caps.rpm or 0, tCap = a.caps.tpm or 0, rLim = 0, tLim = 0, rK = 0, tK = 0, rLvl = 0, tLvl = 0, at = now,
    cutAt = 0, cutFactor = C.FACTOR_MAX, pausedUntil = 0, trust = 1, share = 1, floorLvl = 1, cumR = 0, cumT = 0,
    seen1 = 0, seen2 = 0, seen3 = 0, seen4 = 0, seen5 = 0, seenTok1 = 0, seenTok2 = 0, seenTok3 = 0, seenTok4 = 0, seenTok5 = 0 }
  s.rLvl = startLevel('r')
  s.tLvl = startLevel('t')
end

local function setCaps(caps)
  refill(now, 0)
  for _, d in ipairs({ 'r', 't' }) do
    local wasUnlimited = limitOf(d) == 0
    local c = (d == 'r' and caps.rpm or caps.tpm) or 0
    if d == 'r' then s.rCap = c else s.tCap = c end
    if wasUnlimited then setLevel(d, startLevel(d)) else setLevel(d, math.min(level(d), capacityOf(d))) end
  end
end

local function take(tokens, priority)
  local p = math.min(5, math.max(1, math.floor(priority + 0.5)))
  local urgent = mostUrgentWaiting(now)
  local viaFloor = p > urgent
  local lower = nil
  if not viaFloor then lower = lessUrgentWaiting(p, now) end
  if lower ~= nil then refill(now, s['seenTok' .. lower]) else refill(now, tokens) end
  local wait = math.max(0, s.pausedUntil - now)
  local reserveR, reserveT = 0, 0
  if lower ~= nil and s.floorLvl >= 1 then reserveR, reserveT = 1, s['seenTok' .. lower] end
  wait = math.max(wait, dimWaitMs('r', 1 + reserveR, now), dimWaitMs('t', tokens + reserveT, now))
  if viaFloor and s.floorLvl < 1 then
    local floorRate = C.FLOOR_SHARE * admissionRatePerSec(tokens, now)
    if floorRate < INF and floorRate > 0 then wait = math.max(wait, (1 - s.floorLvl) * 1000 / floorRate) end
  end
  if wait > 0 then
    s['seen' .. p] = math.max(s['seen' .. p], now + wait + C.SEEN_GRACE_MS)
    s['seenTok' .. p] = tokens
    return { ok = false, waitMs = wait }
  end
  if limitOf('r') > 0 then s.rLvl = s.rLvl - 1 end
  if limitOf('t') > 0 then s.tLvl = s.tLvl - tokens end
  if viaFloor then s.floorLvl = s.floorLvl - 1 end
  s.cumR = s.cumR + 1
  s.cumT = s.cumT + tokens
  return { ok = true, cumR = s.cumR, cumT = s.cumT, at = now }
end

local function observe(ad, h, f)
  refill(now, ad.tokens)
  local dims = {
    { 'r', h.limitRequests, h.remainingRequests, h.resetRequestsMs, s.cumR - ad.cumR, f.requestsAfter, f.requestsBefore },
    { 't', h.limitTokens, h.remainingTokens, h.resetTokensMs, s.cumT - ad.cumT, f.tokensAfter, f.tokensBefore },
  }
  for _, x in ipairs(dims) do
    local d, limit, remaining, resetMs, admittedSince, after, before = x[1], x[2], x[3], x[4], x[5], x[6], x[7]
    if limit ~= nil and limit > 0 and limit ~= lim(d) then
      local fresh = limitOf(d) == 0
      if d == 'r' then s.rLim = limit else s.tLim = limit end
      if fresh then setLevel(d, startLevel(d)) end
    end
    local L = lim(d)
    if L ~= 0 and remaining ~= nil then
      if resetMs ~= nil then
        local k = math.ceil(remaining + (resetMs - 1) * L / 60000 - 1e-9)
        if k > 0 then if d == 'r' then s.rK = k else s.tK = k end end
      end
      local capacity = capacityOf(d)
      local refilled = math.max(0, now - ad.at) * L / 60000
      local atMost = math.min(capacity, remaining + refilled - (admittedSince - after))
      if atMost + 1 < level(d) then setLevel(d, atMost + 1) end
      local atLeast = math.min(capacity, remaining - admittedSince - before)
      local second = limitOf(d) / 60
      if s.trust == 1 and atLeast - second > level(d) and atLeast >= math.max(C.STOCK_MIN * capacity, 2 * second) then
        setLevel(d, atLeast - second)
      end
    end
  end
end

local function rateLimited(pauseMs)
  refill(now, 0)
  if s.cutAt == 0 or now - s.cutAt >= C.CUT_COOLDOWN_MS then
    s.cutFactor = math.max(C.FACTOR_MIN, factorAt(now) * C.FACTOR_CUT)
    s.cutAt = now
  end
  for _, d in ipairs({ 'r', 't' }) do
    local L = limitOf(d)
    if L > 0 and level(d) > 2 * L / 60 then s.trust = 0 end
  end
  for _, d in ipairs({ 'r', 't' }) do setLevel(d, math.min(level(d), 0)) end
  s.pausedUntil = math.max(s.pausedUntil, now + math.max(0, pauseMs))
end

if s.at == nil then init() end

local result = { now = now }
if a.op == 'take' then
  result = take(a.tokens, a.priority)
elseif a.op == 'observe' then
  observe(a.admission, a.headers, a.inFlight or { requestsBefore = 0, tokensBefore = 0, requestsAfter = 0, tokensAfter = 0 })
elseif a.op == 'limited' then
  rateLimited(a.pauseMs)
elseif a.op == 'caps' then
  setCaps(a.caps)
elseif a.op ~= 'state' then
  return redis.error_reply('unknown op ' .. tostring(a.op))
end

local flat = {}
for _, f in ipairs(FIELDS) do
  flat[#flat + 1] = f
  -- %.17g keeps every double exactly
  flat[#flat + 1] = string.format('%.17g', s[f])
end
redis.call('HSET', KEYS[1], unpack(flat))
redis.call('PEXPIRE', KEYS[1], C.STATE_TTL_MS)
-- Workers seen in the last WORKER_TTL_MS: what a cut-off worker divides the limits by.
if a.worker then
  redis.call('ZADD', KEYS[2], now, a.worker)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - C.WORKER_TTL_MS)
  redis.call('PEXPIRE', KEYS[2], C.STATE_TTL_MS)
end
result.workers = redis.call('ZCARD', KEYS[2])
result.state = s
return cjson.encode(result)
