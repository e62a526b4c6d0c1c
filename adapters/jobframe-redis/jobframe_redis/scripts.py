"""The Lua scripts behind every multi-key step. Each runs atomically inside Redis.

Conventions: ``ARGV[1]`` is the hash-tagged key stem (``{prefix}:``) from which per-queue and
per-process keys are built; the fixed keys a script touches are passed in ``KEYS`` (all in the
same cluster slot). Ready-queue scores are ``(priority + 2048) * 2^40 + sequence``: lower priority
numbers first, then first-in first-out. Scheduled members are ``id|queue|priority``.
"""

from __future__ import annotations

from importlib import resources


#: flow control helpers (see flow.lua): a plain job pays one string.find per step
def _lua(name: str) -> str:
    """A script kept in a ``.lua`` file of this package."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


_FLOW = _lua("flow.lua")

_SHIFT = """
local SHIFT = 1099511627776
"""
_SPLIT = """
local function split(s)
  local out = {}
  for part in string.gmatch(s, '([^|]*)|?') do out[#out + 1] = part end
  return out
end
"""
_UNWAIT = """
local function unwait(waiting, pid)
  for _, e in ipairs(redis.call('LRANGE', waiting, 0, -1)) do
    if string.sub(e, 1, #pid + 1) == pid .. '|' then redis.call('LREM', waiting, 1, e) end
  end
end
"""
_WAKE = """
local function wake(key, n)
  if n <= 0 then return end
  local tokens = {}
  for i = 1, math.min(n, 64) do tokens[i] = '1' end
  redis.call('LPUSH', key, unpack(tokens))
  redis.call('LTRIM', key, 0, 63)
end
"""
_HELPERS = _SHIFT + _SPLIT + _UNWAIT + _WAKE + _FLOW

# KEYS: jobs, seq, wake, scheduled, queues, waiting, inflight, paused
# ARGV: stem, now_ms, then (id, queue, priority, run_at_ms, payload) per job
# Returns how many jobs became ready, or, when @jobframe.unique refused some (nothing of them
# written), the list of their positions (1-based).
# A ready job goes straight to an idle fetcher waiting for its queue, if there is one: claimed for
# it here and pushed onto its inbox, which it is blocked on (one hop instead of a wake-up token, a
# fetch and its reply). Otherwise it joins its queue and a wake-up token is pushed.
# The body is shared with the recurring claim (`jobframe_redis.recurring`), which puts its own
# check in front of it and its own arguments after the job's: ``last`` is the ARGV index of the
# last job field.
# Only the helpers it uses: defining the others costs 1.7 µs per call.
ENQUEUE_HEAD = _SHIFT + _WAKE + _FLOW
ENQUEUE_BODY = """
local stem, now = ARGV[1], tonumber(ARGV[2])
local function handoff(id, queue, score, payload, mark)
  if redis.call('SISMEMBER', KEYS[8], queue) == 1 then return false end
  for _, e in ipairs(redis.call('LRANGE', KEYS[6], 0, -1)) do
    local pid, wid, untl, queues = string.match(e, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
    if tonumber(untl) < now then
      redis.call('LREM', KEYS[6], 1, e)
    elseif queues == '*' or string.find(',' .. queues .. ',', ',' .. queue .. ',', 1, true) then
      redis.call('LREM', KEYS[6], 1, e)
      local token = wid .. ':' .. id
      redis.call('HSET', KEYS[7], id, token .. '|' .. pid .. '|' .. queue .. '|' .. score .. '|' .. now .. mark)
      redis.call('SADD', stem .. 'claims:' .. pid, id)
      redis.call('RPUSH', stem .. 'inbox:' .. pid, id .. '|' .. token .. '|' .. queue .. '|' .. payload)
      return true
    end
  end
  return false
end
local ready, refused = 0, {}
-- Every idle fetcher is in the waiting list (FETCH puts it there before it blocks): with none,
-- nobody is blocked, and no wake-up token is needed either.
local anyone = redis.call('LLEN', KEYS[6]) > 0
local waiters = anyone
for i = 3, last, 5 do
  local id, queue, prio, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local f, jid = flow_of(ARGV[i + 4])
  -- a job with a slot or an until="started" lock is handed out by FETCH, which takes them
  local mark, direct = '', true
  if f then
    mark = flow().marked(f) and '|f' or ''
    direct = type(f.concurrency) ~= 'table' and not (type(f.unique) == 'table' and f.unique['until'] == 'started')
  end
  if f and type(f.unique) == 'table' and not flow().unique_take(stem, f.unique, jid, at <= now, now) then
    refused[#refused + 1] = (i - 3) / 5 + 1
  elseif at > now then
    redis.call('HSET', KEYS[1], id, ARGV[i + 4])
    redis.call('SADD', KEYS[5], queue)
    redis.call('ZADD', KEYS[4], at, id .. '|' .. queue .. '|' .. prio)
  else
    redis.call('HSET', KEYS[1], id, ARGV[i + 4])
    redis.call('SADD', KEYS[5], queue)
    local score = string.format('%.0f', (prio + 2048) * SHIFT + redis.call('INCR', KEYS[2]))
    if not (waiters and direct and handoff(id, queue, score, ARGV[i + 4], mark)) then
      redis.call('ZADD', stem .. 'q:' .. queue, score, id)
      ready = ready + 1
      waiters = false
    end
  end
end
if anyone then wake(KEYS[3], ready) end
if #refused > 0 then return refused end
return ready
"""
ENQUEUE = ENQUEUE_HEAD + "\nlocal last = #ARGV" + ENQUEUE_BODY

# KEYS: jobs, inflight, wake, queues, paused, seq, waiting
# ARGV: stem, process, limit, now_ms, fetch_id, wait_id, wait_until_ms, queue names... (or '*')
# Tokens are ``fetch_id:job id``. A call repeated with the same fetch_id (its reply was lost to a
# dropped connection) first gets back the jobs that id already claimed, so none is stranded; so
# does a hand-off popped from the inbox whose reply was lost (its token starts with wait_id, which
# the worker keeps until a hand-off reaches it). The inbox is drained first, and with nothing to
# hand out and wait_until_ms > 0 the process registers as an idle fetcher until that time.
FETCH = (
    _HELPERS
    + """
local stem, pid, limit, now, fid = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local wid, wait_until = ARGV[6], tonumber(ARGV[7])
local queues = {}
if ARGV[8] == '*' then
  queues = redis.call('SMEMBERS', KEYS[4])
  table.sort(queues)
else
  for i = 8, #ARGV do queues[#queues + 1] = ARGV[i] end
end
unwait(KEYS[7], pid)
local out, got, seen = {}, 0, {}
local claims = stem .. 'claims:' .. pid
local function give(id, cur)
  local parts = split(cur)
  local token = fid .. ':' .. id
  local entry = token .. '|' .. parts[2] .. '|' .. parts[3] .. '|' .. parts[4] .. '|' .. parts[5]
  if parts[6] then entry = entry .. '|' .. parts[6] end
  redis.call('HSET', KEYS[2], id, entry)
  out[#out + 1] = id
  out[#out + 1] = token
  out[#out + 1] = parts[3]
  out[#out + 1] = redis.call('HGET', KEYS[1], id) or ''
  got = got + 1
  seen[id] = true
end
local inbox = stem .. 'inbox:' .. pid
for _, e in ipairs(redis.call('LRANGE', inbox, 0, -1)) do
  local id = string.match(e, '^([^|]*)|')
  local cur = redis.call('HGET', KEYS[2], id)
  if cur and not seen[id] then give(id, cur) end
end
redis.call('DEL', inbox)
for _, id in ipairs(redis.call('SMEMBERS', claims)) do
  local cur = redis.call('HGET', KEYS[2], id)
  if cur and not seen[id] and (string.sub(cur, 1, #fid + 1) == fid .. ':'
      or string.sub(cur, 1, #wid + 1) == wid .. ':') then
    give(id, cur)
  end
end
for _, q in ipairs(queues) do
  if got >= limit then break end
  if redis.call('SISMEMBER', KEYS[5], q) == 0 then
    local qkey = stem .. 'q:' .. q
    -- more rounds only when a job popped had to wait blocked (concurrency limits)
    while got < limit do
      local want = limit - got
      local popped = redis.call('ZPOPMIN', qkey, want)
      for j = 1, #popped, 2 do
        local id, score = popped[j], popped[j + 1]
        local payload = redis.call('HGET', KEYS[1], id) or ''
        local f, jid = flow_of(payload)
        if not f or flow().start(stem, id, q, score, f, jid, tonumber(now)) then
          local token = fid .. ':' .. id
          local mark = (f and flow().marked(f)) and '|f' or ''
          redis.call('HSET', KEYS[2], id, token .. '|' .. pid .. '|' .. q .. '|' .. score .. '|' .. now .. mark)
          redis.call('SADD', claims, id)
          out[#out + 1] = id
          out[#out + 1] = token
          out[#out + 1] = q
          out[#out + 1] = payload
          got = got + 1
        end
      end
      if #popped < 2 * want then break end
    end
    if got >= limit and redis.call('ZCARD', qkey) > 0 then wake(KEYS[3], 1) end
  end
end
if got == 0 and wait_until > 0 then
  local listening = ARGV[8] == '*' and '*' or table.concat(queues, ',')
  redis.call('RPUSH', KEYS[7], pid .. '|' .. wid .. '|' .. wait_until .. '|' .. listening)
end
return out
"""
)

# KEYS: jobs, inflight, dead, dead_info, crashes, seq, wake, scheduled, queues
# ARGV: stem, process, now_ms, day, minute, dead_max_size, dead_max_age_ms, then per outcome:
#       id, token, status, info_json, n, and n retries as (id, queue, priority, run_at_ms, payload)
COMPLETE = (
    _HELPERS
    + """
local stem, pid, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local day, minute = ARGV[4], ARGV[5]
local done, failed, ready = 0, 0, 0
local settled = {expired = 0, cancelled = 0}
local claims = stem .. 'claims:' .. pid
local cancels = redis.call('EXISTS', stem .. 'cancel') == 1
local i = 8
while i <= #ARGV do
  local id, token, status, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 4])
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
    if settled[status] then
      redis.call('HDEL', KEYS[1], id)
      settled[status] = settled[status] + 1
    elseif status == 'done' then
      redis.call('HDEL', KEYS[1], id)
      done = done + 1
    else
      redis.call('ZADD', KEYS[3], now, id)
      redis.call('HSET', KEYS[4], id, parts[3] .. '|' .. parts[4] .. '|' .. ARGV[i + 3])
      failed = failed + 1
    end
    -- the retries this run asked for are written only with its own outcome
    for r = i + 5, i + 4 + 5 * n, 5 do
      local rid, q, prio, at = ARGV[r], ARGV[r + 1], tonumber(ARGV[r + 2]), tonumber(ARGV[r + 3])
      local rf, rjid = flow_of(ARGV[r + 4])
      if rf and type(rf.unique) == 'table' then flow().unique_take(stem, rf.unique, rjid, at <= now, now) end
      redis.call('HSET', KEYS[1], rid, ARGV[r + 4])
      redis.call('SADD', KEYS[9], q)
      if at > now then
        redis.call('ZADD', KEYS[8], at, rid .. '|' .. q .. '|' .. prio)
      else
        redis.call('ZADD', stem .. 'q:' .. q, (prio + 2048) * SHIFT + redis.call('INCR', KEYS[6]), rid)
        ready = ready + 1
      end
    end
  end
  i = i + 5 + 5 * n
end
wake(KEYS[7], ready)
if settled.expired + settled.cancelled > 0 then
  flow().count(stem, 'expired', settled.expired, day, minute)
  flow().count(stem, 'cancelled', settled.cancelled, day, minute)
end
local ttl = 90 * 86400
if done + failed > 0 then
  local k = stem .. 'stat:processed:' .. day
  redis.call('INCRBY', k, done + failed)
  redis.call('EXPIRE', k, ttl)
  local m = stem .. 'stat:processed:m:' .. day
  redis.call('HINCRBY', m, minute, done + failed)
  redis.call('EXPIRE', m, 3 * 86400)
end
if failed > 0 then
  local k = stem .. 'stat:failed:' .. day
  redis.call('INCRBY', k, failed)
  redis.call('EXPIRE', k, ttl)
  local m = stem .. 'stat:failed:m:' .. day
  redis.call('HINCRBY', m, minute, failed)
  redis.call('EXPIRE', m, 3 * 86400)
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[7]), 'LIMIT', 0, 1000)
  local excess = redis.call('ZCARD', KEYS[3]) - #old - tonumber(ARGV[6])
  if excess > 0 then
    for _, id in ipairs(redis.call('ZRANGE', KEYS[3], #old, #old + excess - 1)) do old[#old + 1] = id end
  end
  for _, id in ipairs(old) do
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[1], id)
  end
end
return {done, failed}
"""
)

# KEYS: inflight, wake
# ARGV: stem, process, then (id, token) per claim
RELEASE = _HELPERS + _lua("release.lua")

# KEYS: jobs, scheduled, processes, inflight, crashes, dead, dead_info, wake, seq
# ARGV: stem, now_ms, heartbeat_timeout_ms, max_crashes, promote_limit
MAINTAIN = _HELPERS + _lua("maintain.lua")

# KEYS: jobs, dead, dead_info, crashes, wake, seq
# ARGV: stem, action ('retry' | 'discard'), ids...
DEAD = (
    _HELPERS
    + """
local stem, action = ARGV[1], ARGV[2]
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local info = redis.call('HGET', KEYS[3], id)
  if redis.call('ZREM', KEYS[2], id) == 1 then
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    if action == 'retry' and info and redis.call('HEXISTS', KEYS[1], id) == 1 then
      local q, score = string.match(info, '^(.-)|([^|]*)|')
      local prio = math.floor((tonumber(score) or 2048 * SHIFT) / SHIFT) - 2048
      local seq = redis.call('INCR', KEYS[6])
      redis.call('ZADD', stem .. 'q:' .. q, (prio + 2048) * SHIFT + seq, id)
    else
      redis.call('HDEL', KEYS[1], id)
    end
    n = n + 1
  end
end
if action == 'retry' then wake(KEYS[5], n) end
return n
"""
)

# KEYS: jobs, queues
# ARGV: stem, queue
CLEAR = (
    _FLOW
    + """
local qkey = ARGV[1] .. 'q:' .. ARGV[2]
local ids = redis.call('ZRANGE', qkey, 0, -1)
-- discarding a waiting job releases its unique lock
for _, id in ipairs(ids) do
  local f, jid = flow_of(redis.call('HGET', KEYS[1], id))
  if f then flow().unique_release(ARGV[1], f, jid, nil) end
end
for i = 1, #ids, 1000 do
  redis.call('HDEL', KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
end
redis.call('DEL', qkey)
return #ids
"""
)

# KEYS: queues, scheduled, inflight; ARGV: stem
# Ready (every queue) + scheduled + running + blocked in one atomic read, for `RedisInspector.pending`.
PENDING = """
local n = redis.call('ZCARD', KEYS[2]) + redis.call('HLEN', KEYS[3])
n = n + redis.call('HLEN', ARGV[1] .. 'blocked')
for _, q in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('ZCARD', ARGV[1] .. 'q:' .. q)
end
return n
"""

# KEYS: waiting; ARGV: process
# A stopping process stops being an idle fetcher before its claims are released.
UNWAIT = (
    _HELPERS
    + """
unwait(KEYS[1], ARGV[1])
return 0
"""
)

# Flow control (jobframe.backend.flow): each script's keys and arguments head its file.
RESERVE = _lua("reserve.lua")
DEFER = _SHIFT + _WAKE + _FLOW + _lua("defer.lua")
DROP = _FLOW + _lua("drop.lua")
RUN_NOW = _SHIFT + _WAKE + _FLOW + _lua("run_now.lua")
