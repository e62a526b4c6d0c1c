-- Apply outcomes, each as one guarded step: the claim settled (done, expired, cancelled:
-- removed; failed, dead: into the dead set), its retries written, its records written with
-- their batch counting and callbacks (results.lua).
-- A run that performed is counted in its class's timings of this minute (`{p}:t:<minute>`,
-- jobframe_redis.timings), only with its outcome: a claim no longer held counts nothing.
-- KEYS: jobs, inflight, dead, dead_info, crashes, seq, wake, scheduled, queues
-- ARGV: stem, process, now_ms, day, minute, dead_max_size, dead_max_age_ms, timings_ttl_s,
--       then per outcome:
--       id, token, status, info_json, job_id ('' when unknown: read from the payload),
--       job_class ('' when it did not perform), run time ms, bucket, n, n
--       retries as entries (id, queue, priority, run_at_ms, payload, job_id, batch id), m, m
--       records as (job_id, status, data, ttl_ms, batch_id or '', notify 1|0)
local stem, pid, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local day, minute = ARGV[4], ARGV[5]
local done, failed, ready = 0, 0, 0
-- job class -> {runs, failed, total ms, {bucket -> runs}}: one HINCRBY per field, not per run
local timed = {}
local settled = {expired = 0, cancelled = 0}
local claims = stem .. 'claims:' .. pid
local cancels = redis.call('EXISTS', stem .. 'cancel') == 1
local i = 9
while i <= #ARGV do
  local id, token, status, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 8])
  local r0 = i + 9 + 7 * n
  local m = tonumber(ARGV[r0])
  local cur = redis.call('HGET', KEYS[2], id)
  if cur and string.sub(cur, 1, #token + 1) == token .. '|' then
    local parts = split(cur)
    redis.call('HDEL', KEYS[2], id)
    redis.call('SREM', claims, id)
    redis.call('HDEL', KEYS[5], id)
    if cancels then redis.call('SREM', stem .. 'cancel', id) end
    if parts[6] == 'f' then
      local f, jid = flow_of(redis.call('HGET', KEYS[1], id))
      if f then
        ready = ready + flow().settle(stem, id, f)
        -- a retry written below takes the lock again, as its enqueue would
        if status ~= 'failed' or n == 0 then flow().unique_release(stem, f, jid, nil) end
      end
    end
    if settled[status] or status == 'done' then
      local jid = ARGV[i + 4]
      if jid == '' then jid = jid_of(redis.call('HGET', KEYS[1], id)) end
      unindex(stem, id, jid)
      redis.call('HDEL', KEYS[1], id)
      if status == 'done' then done = done + 1 else settled[status] = settled[status] + 1 end
    else
      redis.call('ZADD', KEYS[3], now, id)
      redis.call('HSET', KEYS[4], id, parts[3] .. '|' .. parts[4] .. '|' .. ARGV[i + 3])
      failed = failed + 1
    end
    local class = ARGV[i + 5]
    if class ~= '' then
      local t = timed[class]
      if not t then
        t = {0, 0, 0, {}}
        timed[class] = t
      end
      t[1] = t[1] + 1
      if status == 'failed' then t[2] = t[2] + 1 end
      t[3] = t[3] + tonumber(ARGV[i + 6])
      local b = ARGV[i + 7]
      t[4][b] = (t[4][b] or 0) + 1
    end
    -- the retries this run asked for are written only with its own outcome
    for r = i + 9, i + 8 + 7 * n, 7 do
      local rid, q, prio, at = ARGV[r], ARGV[r + 1], tonumber(ARGV[r + 2]), tonumber(ARGV[r + 3])
      local rf, rjid = flow_of(ARGV[r + 4])
      if rf and type(rf.unique) == 'table' then flow().unique_take(stem, rf.unique, rjid, at <= now, now) end
      redis.call('HSET', KEYS[1], rid, ARGV[r + 4])
      redis.call('SADD', KEYS[9], q)
      stored(stem, rid, q, prio, ARGV[r + 4], ARGV[r + 5], ARGV[r + 6])
      if at > now then
        redis.call('ZADD', KEYS[8], at, rid .. '|' .. q .. '|' .. prio)
      else
        ready_push(stem, q, prio, rid)
        ready = ready + 1
      end
    end
    for r = r0 + 1, r0 + 6 * m, 6 do
      results().record(stem, now, ARGV[r], ARGV[r + 1], ARGV[r + 2], ARGV[r + 3], ARGV[r + 4], ARGV[r + 5] == '1')
    end
  end
  i = r0 + 1 + 6 * m
end
wake(KEYS[7], ready)
if next(timed) then
  local tk = stem .. 't:' .. minute
  for class, t in pairs(timed) do
    redis.call('HINCRBY', tk, class .. '|c', t[1])
    if t[2] > 0 then redis.call('HINCRBY', tk, class .. '|f', t[2]) end
    redis.call('HINCRBYFLOAT', tk, class .. '|ms', t[3])
    for b, runs in pairs(t[4]) do redis.call('HINCRBY', tk, class .. '|b' .. b, runs) end
  end
  redis.call('EXPIRE', tk, ARGV[8])
end
if settled.expired + settled.cancelled > 0 then
  flow().count(stem, 'expired', settled.expired, day, minute)
  flow().count(stem, 'cancelled', settled.cancelled, day, minute)
end
local ttl = 90 * 86400
if done + failed > 0 then
  local k = stem .. 'stat:processed:' .. day
  redis.call('INCRBY', k, done + failed)
  redis.call('EXPIRE', k, ttl)
  local mk = stem .. 'stat:processed:m:' .. day
  redis.call('HINCRBY', mk, minute, done + failed)
  redis.call('EXPIRE', mk, 3 * 86400)
end
if failed > 0 then
  local k = stem .. 'stat:failed:' .. day
  redis.call('INCRBY', k, failed)
  redis.call('EXPIRE', k, ttl)
  local mk = stem .. 'stat:failed:m:' .. day
  redis.call('HINCRBY', mk, minute, failed)
  redis.call('EXPIRE', mk, 3 * 86400)
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[7]), 'LIMIT', 0, 1000)
  local excess = redis.call('ZCARD', KEYS[3]) - #old - tonumber(ARGV[6])
  if excess > 0 then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[3], #old, #old + excess - 1)) do old[#old + 1] = id end
  end
  for _, id in ipairs(old) do
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    unindex(stem, id, jid_of(redis.call('HGET', KEYS[1], id)))
    redis.call('HDEL', KEYS[1], id)
  end
end
return {done, failed}
