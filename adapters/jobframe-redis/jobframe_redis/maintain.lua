-- Promote due scheduled jobs, reap processes whose heartbeat expired (their claims back on
-- their queues, or dead after max_crashes), move an older version's ready zsets into the lists,
-- and the upkeep of concurrency limits.
-- KEYS: jobs, scheduled, processes, inflight, crashes, dead, dead_info, wake, seq
-- ARGV: stem, now_ms, heartbeat_timeout_ms, max_crashes, promote_limit, history_ttl_ms
--       then the records of chain links (results.lua: chained)
-- A poison pill sent dead gets a ``dead`` record (results.lua), counted in its batch; a chain
-- link's later links get ``cancelled`` ones. Returns {promoted, reaped, requeued, dead}, or
-- {-1, ids...} (nothing changed): the poison pills whose later links' records are needed.
local stem, now = ARGV[1], tonumber(ARGV[2])
local timeout, max_crashes = tonumber(ARGV[3]), tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - timeout)
local found, missing = chained(7), {-1}
for _, pid in ipairs(expired) do
  for _, id in ipairs(redis.call('SMEMBERS', stem .. 'claims:' .. pid)) do
    if not found[id] and redis.call('HEXISTS', KEYS[4], id) == 1
        and tonumber(redis.call('HGET', KEYS[5], id) or 0) + 1 >= max_crashes
        and linked(redis.call('HGET', KEYS[1], id)) then
      missing[#missing + 1] = id
    end
  end
end
if #missing > 1 then return missing end
local promoted, requeued, dead = 0, 0, 0
local readied = {}  -- concurrency key -> blocked jobs a reaped claim's settle made ready
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))) do
  redis.call('ZREM', KEYS[2], member)
  local id, q, prio = string.match(member, '^(.-)|(.*)|(-?%d+)$')
  ready_push(stem, q, tonumber(prio), id)
  promoted = promoted + 1
  local f, jid = flow_of(redis.call('HGET', KEYS[1], id))
  if f then flow().unique_release(stem, f, jid, 'scheduled') end
end
local back = {}
for _, pid in ipairs(expired) do
  local claims = stem .. 'claims:' .. pid
  for _, id in ipairs(redis.call('SMEMBERS', claims)) do
    local cur = redis.call('HGET', KEYS[4], id)
    if cur then
      local parts = split(cur)
      redis.call('HDEL', KEYS[4], id)
      local f, jid
      if parts[6] == 'f' then
        f, jid = flow_of(redis.call('HGET', KEYS[1], id))
        if f then
          local n = flow().settle(stem, id, f)
          if n > 0 then readied[f.concurrency.key] = (readied[f.concurrency.key] or 0) + n end
          requeued = requeued + n
        end
      end
      local crashes = redis.call('HINCRBY', KEYS[5], id, 1)
      if crashes >= max_crashes then
        local info = cjson.encode({reason = 'poison pill: its worker process died ' .. crashes ..
          ' times while running it', class = 'jobframe.WorkerCrashed',
          message = 'worker process ' .. pid .. ' stopped heartbeating', attempts = crashes})
        redis.call('ZADD', KEYS[6], now, id)
        redis.call('HSET', KEYS[7], id, parts[3] .. '|' .. parts[4] .. '|' .. info)
        redis.call('HDEL', KEYS[5], id)
        if f then flow().unique_release(stem, f, jid, nil) end
        results().ended(stem, now, redis.call('HGET', KEYS[1], id), 'dead', {class = 'jobframe.WorkerCrashed',
          message = 'worker process ' .. pid .. ' stopped heartbeating',
          reason = 'poison pill: its worker process died ' .. crashes .. ' times while running it'}, ARGV[6])
        break_chain(stem, now, found, id)
        dead = dead + 1
      else
        back[#back + 1] = {id, parts}
        requeued = requeued + 1
      end
    end
  end
  redis.call('DEL', claims, stem .. 'process:' .. pid, stem .. 'inbox:' .. pid)
  redis.call('ZREM', KEYS[3], pid)
end
-- ready jobs an older version left in a zset {p}:q:<queue> (an upgrade, a producer not upgraded
-- yet): moved in score order to the tail of their priority's list, promote_limit per pass
local moving = tonumber(ARGV[5])
for _, q in ipairs(redis.call('SMEMBERS', stem .. 'queues')) do
  if moving <= 0 then break end
  local popped = redis.call('ZPOPMIN', stem .. 'q:' .. q, moving)
  for j = 1, #popped, 2 do ready_push(stem, q, prio_of(popped[j + 1]), popped[j]) end
  moving = moving - #popped / 2
  promoted = promoted + #popped / 2
end
-- concurrency keys that blocked jobs: drop lapsed slots, ready blocked jobs while there is room
local limits = stem .. 'limits'
local unblocked = 0
local lim = redis.call('HGETALL', limits)
for j = 1, #lim, 2 do
  local key, slots = lim[j], stem .. 'slots:' .. lim[j]
  redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
  local room = tonumber(lim[j + 1]) - redis.call('ZCARD', slots) - (readied[key] or 0)
  if room > 0 then unblocked = unblocked + flow().unblock_key(stem, key, room) end
  if redis.call('ZCARD', stem .. 'blocked:' .. key) == 0 then redis.call('HDEL', limits, key) end
end
-- batches listed in {p}:batches whose keys expired: a few of the oldest per pass
for _, bid in ipairs(redis.call('ZRANGE', stem .. 'batches', 0, 9)) do
  if redis.call('EXISTS', stem .. 'batch:' .. bid) == 0 then redis.call('ZREM', stem .. 'batches', bid) end
end
-- the reaped claims at the head of their priority's list, in the order they were claimed: last,
-- so they come before the blocked jobs readied above, which were found blocked after them
requeue(stem, back)
wake(KEYS[8], promoted + requeued + unblocked)
return {promoted, #expired, requeued, dead}
