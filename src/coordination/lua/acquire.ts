/**
 * The one script every decision of a shared budget goes through, run atomically by Redis: no
 * other command on the key runs while it does, so no race lets two processes spend one unit.
 *
 * Each per-minute budget (requests, tokens) is kept two ways at once, as `WindowBudget` keeps it
 * in one process:
 * - a sliding-window log (a sorted set of leases by time, their amounts in a hash, a running
 *   sum): no window of `window` ms ever holds more than the limit. A lease's units are sent up to
 *   `use` ms after it was granted, so a lease counts for `window + use` ms;
 * - a smoothing bucket (the GCRA, kept as a level): one `burst` ms worth at once, refilling at the
 *   limit per window, so the minute's budget is spread as providers enforce it.
 * A state that is missing (first use, expiry after idleness, or a Redis restart that lost it)
 * starts with the bucket in debt by one burst and one lease's use time of refill: whatever the
 * lost state had granted and was still being sent, nothing overshoots, and the caution costs
 * less than one window.
 *
 * Concurrency is held as slots per participant, each participant alive until its TTL passes
 * without a call: a killed process's slots come back after the TTL. After a state loss no slot
 * is granted beyond what participants report in use, for one TTL, until every live one has
 * said what it holds.
 *
 * What the provider's headers taught (`remaining`, `reset`, and `limit` when known) is shared too:
 * the newest reading of each kind (by the time its request left) becomes a learned bucket that
 * holds `remaining` less every unit granted since that request left (and a lease's use time
 * before: units the provider may not have counted yet), refills to `limit` by the reset and
 * expires then; a lease takes from it as from the budget. A circuit breaker opened by one
 * participant is kept open until the time it said, for every participant to see; when that time
 * has passed the breaker is half-open, and one participant at a time holds its probe (the first to
 * ask, until its TTL passes without a renewal): the others wait for the probe's outcome, a new
 * opening (the probe failed) or a close (it succeeded), which ends the outage for all.
 *
 * KEYS: 1 state (hash), 2 log (zset lease → grant time), 3 amounts (hash r:/t:<lease> → units),
 *       4 members (hash participant → JSON), 5 alive (zset participant → expiry),
 *       6 shares (hash r:/t:<participant> → units in the window), 7 slots (hash participant → slots),
 *       8 limits (hash rpm:/tpm:/conc:/want:<participant>)
 * ARGV: 1 now (ms; empty: the server's clock), 2 participant, 3 member JSON (empty: unchanged),
 *       4 ttl ms, 5 window ms, 6 use ms, 7 burst ms, 8 rpm, 9 tpm, 10 max concurrency (0: none),
 *       11 lease id, 12 want requests, 13 min requests, 14 want tokens, 15 min tokens,
 *       16 slots wanted, 17 slots in use, 18 adjustments ("lease,dr,dt;…"), 19 pause until (ms, 0:
 *       none), 20 pause reason, 21 leave ("1": the participant leaves, returning its slots),
 *       22 breaker open until (ms, 0: no news), 23 header readings ("kind,remaining,limit,reset,sent;…",
 *       kind r or t, limit empty when unknown, times in ms on the store's clock), 24 breaker closed
 *       ("1": this participant's probes succeeded), 25 wants the probe ("1": its breaker is half-open)
 * Returns (strings): epoch, now, granted requests, granted tokens, retry at (ms, 0: none needed),
 *       slots held, pause until, pause reason, rpm in force, tpm in force, max concurrency in
 *       force, participants, fresh ("1" if the state was just created), needs info ("1": the store
 *       does not know this participant's member JSON; send it next time), breaker open until (ms,
 *       0: none known), learned requests left, learned tokens left ("" where none is in force),
 *       breaker state (closed, open, half-open), holds the probe ("1": this participant may send it)
 */
export const ACQUIRE_SCRIPT = String.raw`
local state, log, amounts, members, alive, shares, slots, limits =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local me, info, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local window, use, burst = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local my = { rpm = tonumber(ARGV[8]) or 0, tpm = tonumber(ARGV[9]) or 0, conc = tonumber(ARGV[10]) or 0 }
local lease = ARGV[11]
local wantR, minR, wantT, minT = tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local slotsWant, slotsInUse = tonumber(ARGV[16]), tonumber(ARGV[17])
local adjustments, pauseUntil, pauseReason, leave = ARGV[18], tonumber(ARGV[19]), ARGV[20], ARGV[21] == '1'
local breakerArg, readings = tonumber(ARGV[22]) or 0, ARGV[23] or ''
local breakerClosed, wantsProbe = ARGV[24] == '1', ARGV[25] == '1'
local EPS = 1e-6

-- The state: created on first use, or again after it was lost.
local fresh = redis.call('HEXISTS', state, 'epoch') == 0
if fresh then
  redis.call('DEL', log, amounts, shares, slots)
  redis.call('HSET', state, 'epoch', me .. '@' .. now, 'recoverUntil', now + ttl)
end

-- Participants: the live ones renew; the dead ones' slots and limits go.
local dead = redis.call('ZRANGEBYSCORE', alive, '-inf', '(' .. now)
for _, p in ipairs(dead) do
  redis.call('HDEL', members, p)
  redis.call('HDEL', slots, p)
  redis.call('HDEL', limits, 'rpm:' .. p, 'tpm:' .. p, 'conc:' .. p, 'want:' .. p)
  redis.call('HDEL', shares, 'r:' .. p, 't:' .. p)
  redis.call('ZREM', alive, p)
  if redis.call('HGET', state, 'prober') == p then redis.call('HDEL', state, 'prober', 'proberUntil') end
end
if leave then
  if redis.call('HGET', state, 'prober') == me then redis.call('HDEL', state, 'prober', 'proberUntil') end
  redis.call('HDEL', members, me)
  redis.call('HDEL', slots, me)
  redis.call('HDEL', limits, 'rpm:' .. me, 'tpm:' .. me, 'conc:' .. me, 'want:' .. me)
  redis.call('ZREM', alive, me)
else
  redis.call('ZADD', alive, now + ttl, me)
  if info ~= '' then redis.call('HSET', members, me, info) end
  redis.call('HSET', limits, 'rpm:' .. me, my.rpm, 'tpm:' .. me, my.tpm, 'conc:' .. me, my.conc, 'want:' .. me, slotsWant)
end

-- The budget in force: the smallest limit any live participant configured (0: none).
local live = redis.call('ZRANGE', alive, 0, -1)
local force = { rpm = 0, tpm = 0, conc = 0 }
for _, p in ipairs(live) do
  local l = redis.call('HMGET', limits, 'rpm:' .. p, 'tpm:' .. p, 'conc:' .. p)
  local values = { rpm = tonumber(l[1]) or 0, tpm = tonumber(l[2]) or 0, conc = tonumber(l[3]) or 0 }
  for kind, v in pairs(values) do
    if v > 0 and (force[kind] == 0 or v < force[kind]) then force[kind] = v end
  end
end

-- Buckets: level refilled to now; a fresh one starts in debt (see above).
local function bucket(kind, limit)
  local minBurst = 1
  local b = { limit = limit, rate = limit / window, cap = math.max(minBurst, limit * burst / window) }
  local level, at, sum = unpack(redis.call('HMGET', state, kind .. 'Level', kind .. 'At', kind .. 'Sum'))
  b.sum = tonumber(sum) or 0
  if level == false then
    b.level = -(b.cap + b.rate * use)
  else
    b.level = tonumber(level)
    local elapsed = math.max(0, now - tonumber(at))
    if b.level < b.cap then b.level = math.min(b.cap, b.level + elapsed * b.rate) end
  end
  return b
end
local buckets = {}
if force.rpm > 0 then buckets.r = bucket('r', force.rpm) end
if force.tpm > 0 then buckets.t = bucket('t', force.tpm) end

-- The log: leases older than a window plus their use time leave it.
local cutoff = now - window - use
local old = redis.call('ZRANGEBYSCORE', log, '-inf', cutoff)
for _, id in ipairs(old) do
  local p = string.match(id, '^(.*)#')
  for _, kind in ipairs({ 'r', 't' }) do
    local amount = tonumber(redis.call('HGET', amounts, kind .. ':' .. id)) or 0
    if amount ~= 0 then
      redis.call('HINCRBYFLOAT', state, kind .. 'Sum', -amount)
      if buckets[kind] then buckets[kind].sum = buckets[kind].sum - amount end
      if p and redis.call('HEXISTS', shares, kind .. ':' .. p) == 1 then
        redis.call('HINCRBYFLOAT', shares, kind .. ':' .. p, -amount)
      end
    end
    redis.call('HDEL', amounts, kind .. ':' .. id)
  end
end
if #old > 0 then redis.call('ZREMRANGEBYSCORE', log, '-inf', cutoff) end

-- Header readings: the newest of each kind becomes its learned bucket (see above).
for entry in string.gmatch(readings, '[^;]+') do
  local kind, rem, lim, reset, sent = string.match(entry, '^([rt]),([-%d.e]+),([-%d.e]*),([-%d.e]+),([-%d.e]+)$')
  if kind then
    rem, lim, reset, sent = tonumber(rem), tonumber(lim), tonumber(reset), tonumber(sent)
    local seen = tonumber(redis.call('HGET', state, kind .. 'LSeen')) or 0
    if sent >= seen and reset > now then
      local since = 0
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', log, sent - use, '+inf')) do
        since = since + (tonumber(redis.call('HGET', amounts, kind .. ':' .. id)) or 0)
      end
      local cap, rate = rem, 0
      if lim and lim > rem then cap, rate = lim, (lim - rem) / (reset - now) end
      redis.call('HSET', state, kind .. 'LLevel', rem - since, kind .. 'LAt', now, kind .. 'LRate', rate,
        kind .. 'LCap', cap, kind .. 'LUntil', reset, kind .. 'LSeen', sent, kind .. 'LLimit', lim or '')
    end
  end
end
local function learnedOf(kind)
  local l = redis.call('HMGET', state, kind .. 'LLevel', kind .. 'LAt', kind .. 'LRate', kind .. 'LCap', kind .. 'LUntil')
  local untilAt = tonumber(l[5]) or 0
  if untilAt <= now then return nil end
  local rate, cap = tonumber(l[3]), tonumber(l[4])
  return { level = math.min(cap, tonumber(l[1]) + math.max(0, now - tonumber(l[2])) * rate), rate = rate, cap = cap, untilAt = untilAt }
end
local learned = { r = learnedOf('r'), t = learnedOf('t') }

-- Adjustments: unused units of expired leases come back, tokens are reconciled with usage.
-- Only a lease of this state may be refunded; a debt is charged whatever lease it names.
for entry in string.gmatch(adjustments, '[^;]+') do
  local id, dr, dt = string.match(entry, '^(.+),([-%d.e]+),([-%d.e]+)$')
  if id then
    local known = redis.call('ZSCORE', log, id) ~= false
    local p = string.match(id, '^(.*)#')
    for kind, delta in pairs({ r = tonumber(dr), t = tonumber(dt) }) do
      if delta ~= 0 and (known or delta > 0) then
        local b = buckets[kind]
        if b then
          if delta > 0 then b.level = b.level - delta else b.level = math.min(b.level, b.cap) - delta end
        end
        local l = learned[kind]
        if l then l.level = math.min(l.cap, l.level - delta) end
        if known then
          local amount = tonumber(redis.call('HGET', amounts, kind .. ':' .. id)) or 0
          local changed = math.max(0, amount + delta)
          redis.call('HSET', amounts, kind .. ':' .. id, changed)
          redis.call('HINCRBYFLOAT', state, kind .. 'Sum', changed - amount)
          if b then b.sum = b.sum + changed - amount end
          if p then redis.call('HINCRBYFLOAT', shares, kind .. ':' .. p, changed - amount) end
        end
      end
    end
  end
end

-- How much of a demand fits now, and when the smallest one will.
local function fits(b, want, least)
  -- A demand above the whole bucket or limit waits for a full bucket and an empty window.
  local needBucket, needLog = math.min(least, b.cap), math.min(least, b.limit)
  if b.level + EPS < needBucket or b.sum + needLog > b.limit + EPS then return 0 end
  if least > b.cap or least > b.limit then return least end
  return math.max(least, math.min(want, math.floor(b.level + EPS), math.floor(b.limit - b.sum + EPS)))
end
local function readyAt(b, kind, least)
  local at = now
  local needBucket, needLog = math.min(least, b.cap), math.min(least, b.limit)
  if b.level + EPS < needBucket then at = math.max(at, now + (needBucket - b.level) / b.rate) end
  if b.sum + needLog > b.limit + EPS then
    local remaining = b.sum
    local entries = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
    for i = 1, #entries, 2 do
      remaining = remaining - (tonumber(redis.call('HGET', amounts, kind .. ':' .. entries[i])) or 0)
      if remaining + needLog <= b.limit + EPS then
        at = math.max(at, tonumber(entries[i + 1]) + window + use + 1)
        break
      end
    end
  end
  return math.ceil(at)
end

local grantR, grantT, retryAt = 0, 0, 0
local paused = tonumber(redis.call('HGET', state, 'pauseUntil')) or 0
if pauseUntil > paused then
  paused = pauseUntil
  redis.call('HSET', state, 'pauseUntil', pauseUntil, 'pauseReason', pauseReason)
end
-- A learned bucket lets a demand through while it holds it (a demand above its capacity waits
-- for the reset), and caps what is granted to what it holds.
local function learnedFits(l, least)
  return l == nil or least == 0 or l.level + EPS >= math.min(least, l.cap)
end
local function learnedCap(l, amount, least)
  if l == nil or amount == 0 then return amount end
  return math.max(least, math.min(amount, math.floor(l.level + EPS)))
end
local function learnedReadyAt(l, least)
  if l.rate > 0 then return math.min(l.untilAt, math.ceil(now + (math.min(least, l.cap) - l.level) / l.rate)) end
  return l.untilAt
end
if not leave and (minR > 0 or minT > 0) and paused <= now then
  local okR = (buckets.r == nil or minR == 0 or fits(buckets.r, wantR, minR) > 0) and learnedFits(learned.r, minR)
  local okT = (buckets.t == nil or minT == 0 or fits(buckets.t, wantT, minT) > 0) and learnedFits(learned.t, minT)
  if okR and okT then
    grantR = minR > 0 and learnedCap(learned.r, buckets.r and fits(buckets.r, wantR, minR) or wantR, minR) or 0
    grantT = minT > 0 and learnedCap(learned.t, buckets.t and fits(buckets.t, wantT, minT) or wantT, minT) or 0
    if learned.r then learned.r.level = learned.r.level - grantR end
    if learned.t then learned.t.level = learned.t.level - grantT end
    redis.call('ZADD', log, now, lease)
    for kind, amount in pairs({ r = grantR, t = grantT }) do
      local b = buckets[kind]
      if b and amount > 0 then
        b.level = b.level - amount
        b.sum = b.sum + amount
        redis.call('HSET', amounts, kind .. ':' .. lease, amount)
        redis.call('HINCRBYFLOAT', state, kind .. 'Sum', amount)
        redis.call('HINCRBYFLOAT', shares, kind .. ':' .. me, amount)
      end
    end
  else
    if not okR and buckets.r and minR > 0 then retryAt = math.max(retryAt, readyAt(buckets.r, 'r', minR)) end
    if not okT and buckets.t and minT > 0 then retryAt = math.max(retryAt, readyAt(buckets.t, 't', minT)) end
    if not learnedFits(learned.r, minR) then retryAt = math.max(retryAt, learnedReadyAt(learned.r, minR)) end
    if not learnedFits(learned.t, minT) then retryAt = math.max(retryAt, learnedReadyAt(learned.t, minT)) end
  end
elseif paused > now then
  retryAt = paused
end
for kind, b in pairs(buckets) do
  redis.call('HSET', state, kind .. 'Level', tostring(b.level), kind .. 'At', now)
end
for kind, l in pairs(learned) do
  redis.call('HSET', state, kind .. 'LLevel', tostring(l.level), kind .. 'LAt', now)
end

-- The circuit breaker: open until the latest time any participant said, then half-open with one
-- probe for all; a new opening ends the probe, a close by the probe's holder the outage.
local breakerUntil = tonumber(redis.call('HGET', state, 'breakerUntil')) or 0
local outage = redis.call('HGET', state, 'breakerOpen') == '1'
if breakerArg > breakerUntil then
  breakerUntil, outage = breakerArg, true
  redis.call('HSET', state, 'breakerUntil', breakerArg, 'breakerOpen', '1')
  redis.call('HDEL', state, 'prober', 'proberUntil')
end
if breakerClosed and outage and breakerUntil <= now then
  outage = false
  redis.call('HDEL', state, 'breakerOpen', 'prober', 'proberUntil')
end
local probe = false
if outage and breakerUntil <= now and wantsProbe and not leave then
  local holder, holderUntil = unpack(redis.call('HMGET', state, 'prober', 'proberUntil'))
  if holder == false or holder == me or (tonumber(holderUntil) or 0) < now then
    redis.call('HSET', state, 'prober', me, 'proberUntil', now + ttl)
    probe = true
  end
end
local breakerState = 'closed'
if outage then breakerState = breakerUntil > now and 'open' or 'half-open' end

-- Slots: never more than the limit in force over the live participants; a fair share each
-- when several want more than there is. What a participant reports in use is recorded as it is.
local held = 0
if not leave then
  if force.conc > 0 then
    local others, wanting, starving = 0, 0, false
    for _, p in ipairs(live) do
      local w = tonumber(redis.call('HGET', limits, 'want:' .. p)) or 0
      if w > 0 then wanting = wanting + 1 end
      if p ~= me then
        local h = tonumber(redis.call('HGET', slots, p)) or 0
        others = others + h
        if w > h then starving = true end
      end
    end
    local target = math.min(slotsWant, math.max(0, force.conc - others))
    if starving and wanting > 0 then target = math.min(target, math.ceil(force.conc / wanting)) end
    if now < (tonumber(redis.call('HGET', state, 'recoverUntil')) or 0) then target = 0 end
    held = math.max(slotsInUse, target)
  else
    held = slotsWant
  end
  redis.call('HSET', slots, me, held)
end

-- Everything lives as long as a lease can count, plus a participant's life: an idle key goes.
local keep = window + use + ttl
for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, keep) end

return {
  redis.call('HGET', state, 'epoch'), tostring(now), tostring(grantR), tostring(grantT), tostring(retryAt),
  tostring(held), tostring(paused), redis.call('HGET', state, 'pauseReason') or '',
  tostring(force.rpm), tostring(force.tpm), tostring(force.conc), tostring(#live), fresh and '1' or '0',
  (not leave and redis.call('HEXISTS', members, me) == 0) and '1' or '0',
  tostring(breakerUntil), learned.r and tostring(learned.r.level) or '', learned.t and tostring(learned.t.level) or '',
  breakerState, probe and '1' or '0',
}
`;
