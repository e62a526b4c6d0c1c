-- Records and batches (jobframe.backend.results), put in front of the scripts that write them.
-- Keys: {p}:ids (hash job_id -> "id|queue|priority" of its stored job), {p}:rec:<job_id>
-- (string "status|batch|ttl ms|data", one SET with PX: expires after ttl), {p}:prog:<job_id> (progress, expiring),
-- {p}:done:<job_id> (list: the wake-up of ResultStore.wait, expiring), {p}:batch:<id> (hash:
-- counters, sealed, fired, ttl, cb:<kind> "id|queue|priority|job_id" and pl:<kind> payload of
-- each callback), {p}:batch:<id>:jobs (hash job_id -> its counter), {p}:batches (zset id ->
-- created). Built on first use, like flow(): plain jobs never pay for these definitions.
local enqueue  -- enqueue.lua, which follows: a batch's callbacks are enqueued through it
local RESULTS
local function results()
  if RESULTS then return RESULTS end
  local R = {}
  local FINAL = {succeeded = true, failed = true, discarded = true, dead = true, cancelled = true}
  -- a batch whose `with` block never ended (its producer died in it) is dropped after a week
  local UNSEALED = 7 * 86400

  -- Count job jid, just enqueued, in batch bid: once per job_id.
  function R.enqueued(stem, bid, jid)
    local b = stem .. 'batch:' .. bid
    local sealed = redis.call('HGET', b, 'sealed')
    if not sealed then return end  -- an unknown or expired batch
    if redis.call('HSETNX', b .. ':jobs', jid, 'pending') == 1 then
      redis.call('HINCRBY', b, 'total', 1)
      redis.call('HINCRBY', b, 'pending', 1)
      if sealed ~= '1' then redis.call('EXPIRE', b .. ':jobs', UNSEALED) end
    end
  end

  -- Fire batch bid's due callbacks, each once: on_complete when it is sealed with nothing
  -- pending, on_success then too if every job succeeded (later, if a retry makes it so).
  function R.fire(stem, now, bid)
    local b = stem .. 'batch:' .. bid
    local v = redis.call('HMGET', b, 'sealed', 'pending', 'succeeded', 'total', 'fired', 'finished', 'ttl')
    if v[1] ~= '1' or tonumber(v[2] or 0) > 0 then return end
    local fired = v[5] or ''
    for _, kind in ipairs({'on_complete', 'on_success'}) do
      if not string.find(',' .. fired .. ',', ',' .. kind .. ',', 1, true)
          and (kind == 'on_complete' or v[3] == v[4]) then
        local cb = redis.call('HGET', b, 'cb:' .. kind)
        if cb then
          local id, q, prio = string.match(cb, '^([^|]*)|([^|]*)|([^|]*)|')
          local K = {stem .. 'jobs', stem .. 'seq', stem .. 'wake', stem .. 'scheduled',
            stem .. 'queues', stem .. 'waiting', stem .. 'inflight', stem .. 'paused'}
          local jid = string.match(cb, '^[^|]*|[^|]*|[^|]*|(.*)$')
          enqueue(K, {id, q, prio, 0, redis.call('HGET', b, 'pl:' .. kind), jid, ''}, 1, 7, stem, now)
          fired = fired == '' and kind or fired .. ',' .. kind
        end
      end
    end
    if not v[6] then redis.call('HSET', b, 'finished', now) end
    redis.call('HSET', b, 'fired', fired)
    local ttl = math.max(1, tonumber(v[7] or 86400000))
    redis.call('PEXPIRE', b, ttl)
    redis.call('PEXPIRE', b .. ':jobs', ttl)
  end

  -- Move job jid of batch bid to the counter of final status (from pending, or from the counter
  -- of an earlier end: a job retried from the dead set), then fire what is due.
  function R.count(stem, now, bid, jid, status)
    local b = stem .. 'batch:' .. bid
    if redis.call('EXISTS', b) == 0 then return end
    local old = redis.call('HGET', b .. ':jobs', jid)
    if old == status then return end
    redis.call('HSET', b .. ':jobs', jid, status)
    if old then redis.call('HINCRBY', b, old, -1) else redis.call('HINCRBY', b, 'total', 1) end
    redis.call('HINCRBY', b, status, 1)
    R.fire(stem, now, bid)
  end

  -- Write one record (`JobRecord`; ttl in ms, bid '' for none), count it, wake its waiters.
  function R.record(stem, now, jid, status, data, ttl, bid, notify)
    local done = stem .. 'done:' .. jid
    ttl = math.max(1, math.floor(tonumber(ttl)))
    redis.call('SET', stem .. 'rec:' .. jid, status .. '|' .. bid .. '|' .. ttl .. '|' .. data, 'PX', ttl)
    if status ~= 'succeeded' then
      -- the job may run again (a retry, a retry from the dead set): its next attempt must not
      -- show this one's progress; a succeeded job's progress key just lapses
      redis.call('DEL', stem .. 'prog:' .. jid)
    end
    if not FINAL[status] then
      -- a wake-up left by an earlier end would make waiters spin until it lapses
      redis.call('DEL', done)
      return
    end
    if bid ~= '' then R.count(stem, now, bid, jid, status) end
    if notify then
      -- one element, never popped (waiters rotate it: BLMOVE done done), so every waiter and
      -- one that arrives between its check and its block see it
      if redis.call('LLEN', done) == 0 then redis.call('RPUSH', done, '1') end
      redis.call('PEXPIRE', done, math.min(ttl, 60000))
    end
  end

  -- A record the backend writes itself: a poison pill sent dead, a waiting job cancelled or
  -- discarded. ttl: the payload's result_ttl when it stores its result, else history (ms).
  function R.ended(stem, now, payload, status, err, history)
    local ok, doc = pcall(cjson.decode, payload or '')
    if not ok or type(doc) ~= 'table' or type(doc.job_id) ~= 'string' then return end
    local ttl = tonumber(history)
    if doc.store_result == true and tonumber(doc.result_ttl) then
      ttl = tonumber(doc.result_ttl) * 1000
    end
    local data = err and cjson.encode({error = err}) or '{}'
    local bid = type(doc.batch_id) == 'string' and doc.batch_id or ''
    R.record(stem, now, doc.job_id, status, data, ttl, bid, true)
  end

  RESULTS = R
  return R
end

-- Chain links (jobframe.tracking.chains.broken_records). A script that ends a link whose payload
-- names later links writes their `cancelled` records in the same call; the caller builds them
-- from the payload and passes them from ARGV[from] on: (id, n, then n records of 6 fields, as
-- complete.lua takes them). A script that finds such a link without them changes nothing and
-- returns {-1, ids...}: the caller (jobframe_redis.chains) then builds them and calls again.
local function linked(payload)
  return type(payload) == 'string' and string.find(payload, '"chain":[{', 1, true) ~= nil
end
local function chained(from)
  local found, i = {}, from
  while i <= #ARGV do
    local n = tonumber(ARGV[i + 1])
    found[ARGV[i]] = {i + 2, n}
    i = i + 2 + 6 * n
  end
  return found
end
local function break_chain(stem, now, found, id)
  local at = found[id]
  if not at then return end
  for r = at[1], at[1] + 6 * (at[2] - 1), 6 do
    results().record(stem, now, ARGV[r], ARGV[r + 1], ARGV[r + 2], ARGV[r + 3], ARGV[r + 4], ARGV[r + 5] == '1')
  end
end
