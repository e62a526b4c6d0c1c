-- Give a claimed job back as scheduled (the rate limiter's throttling): no attempt, no crash.
-- KEYS: jobs, inflight, scheduled, wake
-- ARGV: stem, process, id, token, at_ms, payload, day, minute. Returns 1, or 0 when the claim
-- was no longer held (nothing written).
local stem, pid, id, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('HGET', KEYS[2], id)
if not cur or string.sub(cur, 1, #token + 1) ~= token .. '|' then return 0 end
local q, score, mark = string.match(cur, '^[^|]*|[^|]*|([^|]*)|([^|]*)|[^|]*(.*)$')
redis.call('HDEL', KEYS[2], id)
redis.call('SREM', stem .. 'claims:' .. pid, id)
if mark == '|f' then
  local f = flow_of(redis.call('HGET', KEYS[1], id))
  if f then wake(KEYS[4], flow().settle(stem, id, f)) end
end
local prio = math.floor(tonumber(score) / SHIFT) - 2048
redis.call('HSET', KEYS[1], id, ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[5], id .. '|' .. q .. '|' .. prio)
flow().count(stem, 'throttled', 1, ARGV[7], ARGV[8])
return 1
