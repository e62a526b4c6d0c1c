-- Flow control helpers (jobframe.backend.flow), put in front of the scripts that need them.
-- A job's flow is read from its payload ("flow" object). Plain jobs pay one plain string.find:
-- the compact JSON writes the key as "flow":{ and a string value cannot hold that unescaped.
-- Keys: {p}:unique:<key> (owner job_id, PX), {p}:slots:<key> (zset id -> lapses at ms),
-- {p}:blocked:<key> (zset id -> (priority + 2048) * 2^40 + a sequence taken when it was blocked),
-- {p}:blocked (hash id -> "queue|score|key"), {p}:limits (hash key -> limit, the keys that
-- blocked a job), {p}:cancel (set of ids).
local function flow_of(payload)
  if not payload or not string.find(payload, '"flow":{', 1, true) then return nil end
  local ok, doc = pcall(cjson.decode, payload)
  if ok and type(doc) == 'table' and type(doc.flow) == 'table' then return doc.flow, doc.job_id end
  return nil
end

-- The rest is built only when a script meets a flow job (flow()): defining these functions on
-- every call cost plain jobs 1.5-2 µs per ENQUEUE or FETCH (measured), now 0.3-0.6 µs.
local FLOW
local function flow()
  if FLOW then return FLOW end
  local F = {}
  -- Whether a claim of this job needs work when it is settled (a slot, a lock held to the end).
  function F.marked(f)
    return type(f.concurrency) == 'table' or type(f.unique) == 'table'
  end

  -- Whether job jid may take its unique lock (no other job holds it), writing nothing: the
  -- recurring claim asks before it moves its mark.
  function F.unique_free(stem, u, jid)
    local holder = redis.call('GET', stem .. 'unique:' .. u.key)
    return not holder or holder == jid, holder
  end

  -- Take the unique lock for job jid (false: another job holds it). A job made ready at once
  -- with until="scheduled" only checks: its lock would be released in the same step.
  function F.unique_take(stem, u, jid, ready, now)
    local key = stem .. 'unique:' .. u.key
    local free, holder = F.unique_free(stem, u, jid)
    if not free then return false end
    local lapse = math.floor(tonumber(u.expires_at) * 1000) - now
    if (ready and u['until'] == 'scheduled') or lapse <= 0 then
      if holder then redis.call('DEL', key) end
    else
      redis.call('SET', key, jid, 'PX', lapse)
    end
    return true
  end

  -- Release the lock of f if job jid holds it and its until point is `point` (or any, when nil).
  function F.unique_release(stem, f, jid, point)
    local u = f.unique
    if type(u) ~= 'table' or (point and u['until'] ~= point) then return end
    local key = stem .. 'unique:' .. u.key
    if redis.call('GET', key) == jid then redis.call('DEL', key) end
  end

  -- Ready up to n blocked jobs of key, oldest first, at the head of their priority's list (pushed
  -- last first, so they keep their order); returns how many.
  function F.unblock_key(stem, key, n)
    local list, held = stem .. 'blocked:' .. key, {}
    while #held < n do
      local popped = redis.call('ZPOPMIN', list)
      if #popped == 0 then break end
      local h = redis.call('HGET', stem .. 'blocked', popped[1])
      if h then
        redis.call('HDEL', stem .. 'blocked', popped[1])
        held[#held + 1] = {popped[1], h}
      end
    end
    for i = #held, 1, -1 do
      local q, score = string.match(held[i][2], '^([^|]*)|([^|]*)|')
      ready_push(stem, q, prio_of(score), held[i][1], true)
    end
    return #held
  end

  -- At fetch: false when the job must wait blocked (moved to its key's blocked jobs), else
  -- takes its slot and releases an until="started" lock.
  function F.start(stem, id, q, score, f, jid, now)
    local c = f.concurrency
    if type(c) == 'table' then
      local slots = stem .. 'slots:' .. c.key
      redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
      if redis.call('ZCARD', slots) >= tonumber(c.limit) then
        -- ordered by when they were found blocked, which follows the ready order
        score = string.format('%.0f', (prio_of(score) + 2048) * SHIFT + redis.call('INCR', stem .. 'seq'))
        redis.call('ZADD', stem .. 'blocked:' .. c.key, score, id)
        redis.call('HSET', stem .. 'blocked', id, q .. '|' .. score .. '|' .. c.key)
        redis.call('HSET', stem .. 'limits', c.key, c.limit)
        return false
      end
      redis.call('ZADD', slots, now + math.floor(tonumber(c.duration) * 1000), id)
    end
    F.unique_release(stem, f, jid, 'started')
    return true
  end

  -- A claim settled (complete, release, reap, defer): free its slot and ready the oldest blocked
  -- job of its key. Returns how many jobs became ready.
  function F.settle(stem, id, f)
    local c = f.concurrency
    if type(c) ~= 'table' then return 0 end
    redis.call('ZREM', stem .. 'slots:' .. c.key, id)
    return F.unblock_key(stem, c.key, 1)
  end

  -- Count n jobs of kind in the per-day and per-minute history.
  function F.count(stem, kind, n, day, minute)
    if n <= 0 then return end
    local k = stem .. 'stat:' .. kind .. ':' .. day
    redis.call('INCRBY', k, n)
    redis.call('EXPIRE', k, 90 * 86400)
    local m = stem .. 'stat:' .. kind .. ':m:' .. day
    redis.call('HINCRBY', m, minute, n)
    redis.call('EXPIRE', m, 3 * 86400)
  end
  FLOW = F
  return F
end
