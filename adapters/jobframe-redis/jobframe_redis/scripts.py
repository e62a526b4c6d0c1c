"""The Lua scripts behind every multi-key step. Each runs atomically inside Redis.

Conventions: ``ARGV[1]`` is the hash-tagged key stem (``{prefix}:``) from which per-queue and
per-process keys are built; the fixed keys a script touches are passed in ``KEYS`` (all in the
same cluster slot). A queue's ready jobs are one list of ids per priority, ``{p}:r:<queue>:<prio>``
(first in, first out), with ``{p}:rp:<queue>`` the zset of its non-empty priorities: lower priority
numbers first. Claims, blocked jobs and the dead set keep a score ``(priority + 2048) * 2^40 + n``
that tells the priority (and, for blocked jobs, their order). Scheduled members are
``id|queue|priority``.
"""

from __future__ import annotations

from importlib import resources


#: flow control helpers (see flow.lua): a plain job pays one string.find per step
def _lua(name: str) -> str:
    """A script kept in a ``.lua`` file of this package."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


_FLOW = _lua("flow.lua")

# A list entry costs a few bytes where a sorted-set entry cost 134-145 B per waiting job
# (benchmarks/scale.py): the ready queue is a list per priority. A push that makes a list
# (length 1) lists its priority; whoever empties a list drops it (FETCH, drop, CLEAR), so a listed
# priority may at worst have an empty list, which FETCH then drops, never the reverse.
_SHIFT = """
local SHIFT = 1099511627776
local function ready_push(stem, q, prio, id, head)
  if redis.call(head and 'LPUSH' or 'RPUSH', stem .. 'r:' .. q .. ':' .. prio, id) == 1 then
    redis.call('ZADD', stem .. 'rp:' .. q, prio, prio)
  end
end
local function prio_of(score)
  return math.floor((tonumber(score) or 2048 * SHIFT) / SHIFT) - 2048
end
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
# Claims given back (release, reaper) go to the head of their priority's list in the order they
# were claimed (claimed ms, then score): pushed last first. entries: {id, split inflight value}.
_REQUEUE = """
local function requeue(stem, entries)
  table.sort(entries, function(a, b)
    local ca, cb = tonumber(a[2][5]) or 0, tonumber(b[2][5]) or 0
    if ca ~= cb then return ca < cb end
    return (tonumber(a[2][4]) or 0) < (tonumber(b[2][4]) or 0)
  end)
  for i = #entries, 1, -1 do
    ready_push(stem, entries[i][2][3], prio_of(entries[i][2][4]), entries[i][1], true)
  end
end
"""
_HELPERS = _SHIFT + _SPLIT + _UNWAIT + _WAKE + _REQUEUE + _FLOW

# Records and batches (results.lua), and the shared enqueue (enqueue.lua) that indexes every job
# by its job_id and counts it in its batch: the scripts that store or end jobs need both.
_RESULTS = _lua("results.lua") + _lua("enqueue.lua")

# KEYS: jobs, seq, wake, scheduled, queues, waiting, inflight, paused
# ARGV: stem, now_ms, then (id, queue, priority, run_at_ms, payload) per job
# Returns enqueue()'s reply (see enqueue.lua). The recurring claim (`jobframe_redis.recurring`)
# and a batch's callbacks store jobs through the same function.
# Only the helpers it uses: defining the others costs 1.7 µs per call.
ENQUEUE_HEAD = _SHIFT + _WAKE + _FLOW + _RESULTS
ENQUEUE = ENQUEUE_HEAD + "\nreturn enqueue(KEYS, ARGV, 3, #ARGV, ARGV[1], tonumber(ARGV[2]))\n"

# ENQUEUE's keys and arguments; one reply per job, each from a call of its own: the reply
# enqueue() gave for that job alone, or, when it raised, an error in its place. The producers'
# coalesced round trips (`jobframe_redis.coalesce`) send one call for all the jobs they carry
# instead of one ENQUEUE each: Redis then parses, looks up and runs one script call, not N
# (`benchmarks/producer_cpu.py`: Redis's time per job at 16 threads 12.8-17.8 -> 8.9-9.9 µs).
# A job that fails stops only itself; what it wrote before its error stays, as with ENQUEUE (a
# Redis script has no rollback), and the jobs after it go on.
ENQUEUE_EACH = ENQUEUE_HEAD + "\n" + _lua("enqueue_each.lua")

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
local out, got, seen, n = {}, 0, {}, 0
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
    local rp = stem .. 'rp:' .. q
    -- from the lowest priority number, first in first out; more rounds when a list ran out or a
    -- job popped had to wait blocked (concurrency limits)
    while got < limit do
      local top = redis.call('ZRANGE', rp, 0, 0)
      if #top == 0 then break end
      local prio, want = top[1], limit - got
      local lk = stem .. 'r:' .. q .. ':' .. prio
      -- one more than wanted tells whether the list keeps any (LRANGE + LTRIM: no LPOP count,
      -- which needs Redis 6.2)
      local popped = redis.call('LRANGE', lk, 0, want)
      if #popped > want then
        popped[want + 1] = nil
        redis.call('LTRIM', lk, want, -1)
      else
        redis.call('DEL', lk)
        redis.call('ZREM', rp, prio)
      end
      local base = (tonumber(prio) + 2048) * SHIFT
      for _, id in ipairs(popped) do
        -- the claim's score tells its priority, and n its order among this fetch's claims (a
        -- '%.0f' per job, which the enqueue no longer formats: the cost moved, not added)
        n = n + 1
        local score = string.format('%.0f', base + n)
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
    end
    if got >= limit and redis.call('EXISTS', rp) == 1 then wake(KEYS[3], 1) end
  end
end
if got == 0 and wait_until > 0 then
  local listening = ARGV[8] == '*' and '*' or table.concat(queues, ',')
  redis.call('RPUSH', KEYS[7], pid .. '|' .. wid .. '|' .. wait_until .. '|' .. listening)
end
return out
"""
)

# Outcomes with their retries and records: see complete.lua.
COMPLETE = _HELPERS + _RESULTS + _lua("complete.lua")

# KEYS: inflight, wake
# ARGV: stem, process, then (id, token) per claim
RELEASE = _HELPERS + _lua("release.lua")

# KEYS: jobs, scheduled, processes, inflight, crashes, dead, dead_info, wake, seq
# ARGV: stem, now_ms, heartbeat_timeout_ms, max_crashes, promote_limit, history_ttl_ms
MAINTAIN = _HELPERS + _RESULTS + _lua("maintain.lua")

# KEYS: jobs, dead, dead_info, crashes, wake, seq
# ARGV: stem, action ('retry' | 'discard'), ids...
DEAD = (
    _HELPERS
    + _RESULTS
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
      ready_push(stem, q, prio_of(score), id)
    else
      unindex(stem, id, jid_of(redis.call('HGET', KEYS[1], id)))
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
# ARGV: stem, queue, now_ms, history_ttl_ms, then the records of chain links (results.lua)
# Every cleared job gets a "discarded" record, counted in its batch; a chain link's later links
# get "cancelled" ones (or it returns {-1, ids...}: see jobframe_redis.chains).
CLEAR = (
    _SHIFT
    + _WAKE
    + _FLOW
    + _RESULTS
    + """
local stem, q = ARGV[1], ARGV[2]
local rp = stem .. 'rp:' .. q
local lists = {stem .. 'q:' .. q}  -- a zset an older version wrote, until maintain moves it
for _, prio in ipairs(redis.call('ZRANGE', rp, 0, -1)) do lists[#lists + 1] = stem .. 'r:' .. q .. ':' .. prio end
local err = {message = 'discarded before it started (its queue was cleared)', reason = 'discarded'}
local found, missing = chained(5), {-1}
local listed = {}
for i, key in ipairs(lists) do
  listed[i] = i == 1 and redis.call('ZRANGE', key, 0, -1) or redis.call('LRANGE', key, 0, -1)
  for _, id in ipairs(listed[i]) do
    if not found[id] and linked(redis.call('HGET', KEYS[1], id)) then missing[#missing + 1] = id end
  end
end
if #missing > 1 then return missing end
local n = 0
for i, key in ipairs(lists) do
  local ids = listed[i]
  -- discarding a waiting job releases its unique lock
  for _, id in ipairs(ids) do
    local payload = redis.call('HGET', KEYS[1], id)
    local f, jid = flow_of(payload)
    if f then flow().unique_release(stem, f, jid, nil) end
    unindex(stem, id, jid_of(payload))
    results().ended(stem, tonumber(ARGV[3]), payload, 'discarded', err, ARGV[4])
    break_chain(stem, tonumber(ARGV[3]), found, id)
  end
  for j = 1, #ids, 1000 do
    redis.call('HDEL', KEYS[1], unpack(ids, j, math.min(j + 999, #ids)))
  end
  redis.call('DEL', key)
  n = n + #ids
end
redis.call('DEL', rp)
return n
"""
)

# KEYS: queues, scheduled, inflight; ARGV: stem
# Ready (every queue) + scheduled + running + blocked in one atomic read, for `RedisInspector.pending`.
PENDING = """
local n = redis.call('ZCARD', KEYS[2]) + redis.call('HLEN', KEYS[3])
n = n + redis.call('HLEN', ARGV[1] .. 'blocked')
for _, q in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, prio in ipairs(redis.call('ZRANGE', ARGV[1] .. 'rp:' .. q, 0, -1)) do
    n = n + redis.call('LLEN', ARGV[1] .. 'r:' .. q .. ':' .. prio)
  end
  n = n + redis.call('ZCARD', ARGV[1] .. 'q:' .. q)  -- an older version's zset, until moved
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
DROP = _SHIFT + _WAKE + _FLOW + _RESULTS + _lua("drop.lua")

# Results (jobframe_redis.results): each script's arguments head its file.
STATUS = _lua("status.lua")
SEAL = _SHIFT + _WAKE + _FLOW + _RESULTS + _lua("seal.lua")
WRITE = _SHIFT + _WAKE + _FLOW + _RESULTS + _lua("write.lua")
RUN_NOW = _SHIFT + _WAKE + _FLOW + _lua("run_now.lua")
