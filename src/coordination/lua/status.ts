/**
 * Reads a shared budget without changing it: its live participants with what each holds and its
 * share of the window, the budget in force, and what the providers' headers taught. KEYS as
 * `ACQUIRE_SCRIPT`'s.
 * ARGV: 1 now (ms; empty: the server's clock).
 * Returns a JSON text: { epoch, now, participants: [{ id, info, slots, requests, tokens }],
 * rpm, tpm, conc, requests, tokens, pauseUntil, pauseReason, learned: { r?, t? } }
 * (`requests`/`tokens`: units in the window, per participant and in all; a learned bucket in
 * force: { level (units it holds now), limit (0: not stated), resetAt (ms) }).
 */
export const STATUS_SCRIPT = String.raw`
local state, members, alive, shares, slots, limits = KEYS[1], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local out = { now = now, participants = {}, rpm = 0, tpm = 0, conc = 0 }
out.epoch = redis.call('HGET', state, 'epoch') or ''
out.requests = tonumber(redis.call('HGET', state, 'rSum')) or 0
out.tokens = tonumber(redis.call('HGET', state, 'tSum')) or 0
out.pauseUntil = tonumber(redis.call('HGET', state, 'pauseUntil')) or 0
out.pauseReason = redis.call('HGET', state, 'pauseReason') or ''
for _, p in ipairs(redis.call('ZRANGEBYSCORE', alive, now, '+inf')) do
  local l = redis.call('HMGET', limits, 'rpm:' .. p, 'tpm:' .. p, 'conc:' .. p)
  for i, kind in ipairs({ 'rpm', 'tpm', 'conc' }) do
    local v = tonumber(l[i]) or 0
    if v > 0 and (out[kind] == 0 or v < out[kind]) then out[kind] = v end
  end
  table.insert(out.participants, {
    id = p,
    info = redis.call('HGET', members, p) or '{}',
    slots = tonumber(redis.call('HGET', slots, p)) or 0,
    requests = tonumber(redis.call('HGET', shares, 'r:' .. p)) or 0,
    tokens = tonumber(redis.call('HGET', shares, 't:' .. p)) or 0,
  })
end
-- The learned buckets in force, refilled to now as the acquire script refills them.
out.learned = {}
for _, kind in ipairs({ 'r', 't' }) do
  local l = redis.call('HMGET', state, kind .. 'LLevel', kind .. 'LAt', kind .. 'LRate', kind .. 'LCap', kind .. 'LUntil', kind .. 'LLimit')
  local untilAt = tonumber(l[5]) or 0
  if untilAt > now then
    local level = math.min(tonumber(l[4]), tonumber(l[1]) + math.max(0, now - tonumber(l[2])) * tonumber(l[3]))
    out.learned[kind] = { level = level, limit = tonumber(l[6]) or 0, resetAt = untilAt }
  end
end
return cjson.encode(out)
`;
