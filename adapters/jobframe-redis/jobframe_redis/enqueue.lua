-- The shared enqueue: ENQUEUE, the recurring claim and a batch's callbacks (results.lua) all
-- store jobs through enqueue(), so every job gets the same keys, order, hand-off and indexes.
-- K: the enqueue keys (jobs, seq, wake, scheduled, queues, waiting, inflight, paused); A: an
-- argument array holding (id, queue, priority, run_at_ms, payload, job_id, batch id) per job
-- from A[first] to A[last]; job_id '' when the producer did not give it (a raw payload: it is
-- read from the payload, with the batch id). Returns how many jobs became ready, or, when
-- @jobframe.unique refused some (nothing of them written), the list of their positions (1-based).
-- A ready job goes straight to an idle fetcher waiting for its queue, if there is one: claimed for
-- it here and pushed onto its inbox, which it is blocked on (one hop instead of a wake-up token, a
-- fetch and its reply). Otherwise it joins the tail of its queue's list for its priority
-- (`jobframe_redis.scripts`) and a wake-up token is pushed.
-- A job stored under its own job_id (a first enqueue: `jobframe_redis.adapter.stored_id`) is
-- found by `ResultStore.status` in {p}:jobs itself; any other is indexed by its job_id in {p}:ids
-- ("id|queue|priority": where to look for it). A job whose payload names a batch is counted in it
-- (results.lua).

-- The job_id of a payload, where no argument gives it: jobframe writes it third, after two flat
-- fields, so an anchored match finds it; another producer's payload is decoded.
local function jid_of(payload)
  if not payload then return nil end
  local jid = string.match(payload, '^{"version":%d+,"job_class":"[^"\\]*","job_id":"([^"\\]*)"')
  if jid then return jid end
  local ok, doc = pcall(cjson.decode, payload)
  if ok and type(doc) == 'table' and type(doc.job_id) == 'string' then return doc.job_id end
  return nil
end

-- Forget the index entry of job_id jid (nil or '': unknown) when it still names this id (a
-- retry of the same job may have taken it over).
local function unindex(stem, id, jid)
  if not jid or jid == '' then return end
  local cur = redis.call('HGET', stem .. 'ids', jid)
  if cur and string.sub(cur, 1, #id + 1) == id .. '|' then redis.call('HDEL', stem .. 'ids', jid) end
end

-- The batch id a payload names ('' for none), where no argument gives it.
local function bid_of(payload)
  if not string.find(payload, '"batch_id":"', 1, true) then return '' end
  local ok, doc = pcall(cjson.decode, payload)
  if ok and type(doc) == 'table' and type(doc.batch_id) == 'string' then return doc.batch_id end
  return ''
end

-- A job was stored under id: index it by its job_id (jid, or '' to read it and the batch id bid
-- from the payload) unless id is the job_id itself, count it in its batch. A job stored under its
-- job_id drops an index entry an earlier job of that job_id left (a retry still stored): status
-- then finds the newest, as before. Index entries cost 112 B per waiting job (benchmarks/scale.py).
local function stored(stem, id, queue, prio, payload, jid, bid)
  if jid == '' then
    jid, bid = jid_of(payload), bid_of(payload)
    if not jid then return end
  end
  if id == jid then
    redis.call('HDEL', stem .. 'ids', jid)
  else
    redis.call('HSET', stem .. 'ids', jid, id .. '|' .. queue .. '|' .. prio)
  end
  if bid ~= '' then results().enqueued(stem, bid, jid) end
end

function enqueue(K, A, first, last, stem, now)  -- declared in results.lua
  local function handoff(id, queue, score, payload, mark)
    if redis.call('SISMEMBER', K[8], queue) == 1 then return false end
    for _, e in ipairs(redis.call('LRANGE', K[6], 0, -1)) do
      local pid, wid, untl, queues = string.match(e, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
      if tonumber(untl) < now then
        redis.call('LREM', K[6], 1, e)
      elseif queues == '*' or string.find(',' .. queues .. ',', ',' .. queue .. ',', 1, true) then
        redis.call('LREM', K[6], 1, e)
        local token = wid .. ':' .. id
        redis.call('HSET', K[7], id, token .. '|' .. pid .. '|' .. queue .. '|' .. score .. '|' .. now .. mark)
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
  local anyone = redis.call('LLEN', K[6]) > 0
  local waiters = anyone
  for i = first, last, 7 do
    local id, queue, prio, at = A[i], A[i + 1], tonumber(A[i + 2]), tonumber(A[i + 3])
    local payload = A[i + 4]
    local f, jid = flow_of(payload)
    -- a job with a slot or an until="started" lock is handed out by FETCH, which takes them
    local mark, direct = '', true
    if f then
      mark = flow().marked(f) and '|f' or ''
      direct = type(f.concurrency) ~= 'table' and not (type(f.unique) == 'table' and f.unique['until'] == 'started')
    end
    if f and type(f.unique) == 'table' and not flow().unique_take(stem, f.unique, jid, at <= now, now) then
      refused[#refused + 1] = (i - first) / 7 + 1
    else
      if id ~= A[i + 5] then
        redis.call('HSET', K[1], id, payload)
      elseif redis.call('HSETNX', K[1], id, payload) == 0 then
        -- its job_id is stored already (the same job built twice, enqueued twice): the first
        -- keeps its payload, this one gets a second id and, as a retry, the index entry
        id = id .. '.' .. redis.call('INCR', K[2])
        redis.call('HSET', K[1], id, payload)
      end
      redis.call('SADD', K[5], queue)
      stored(stem, id, queue, prio, payload, A[i + 5], A[i + 6])
      if at > now then
        redis.call('ZADD', K[4], at, id .. '|' .. queue .. '|' .. prio)
      else
        -- a hand-off's claim keeps a score (its priority, and its order for a release)
        local handed = waiters and direct
          and handoff(id, queue, string.format('%.0f', (prio + 2048) * SHIFT + redis.call('INCR', K[2])), payload, mark)
        if not handed then
          ready_push(stem, queue, prio, id)
          ready = ready + 1
          waiters = false
        end
      end
    end
  end
  if anyone then wake(K[3], ready) end
  if #refused > 0 then return refused end
  return ready
end
