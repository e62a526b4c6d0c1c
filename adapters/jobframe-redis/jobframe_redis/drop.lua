-- Remove waiting jobs (ready, scheduled or blocked) for good, releasing their unique locks:
-- the inspector's discard and cancel. With mode "cancel", a job being run is flagged in
-- {p}:cancel instead (WorkerBackend.cancelled) and dropped jobs count as "cancelled".
-- A dropped job gets a "cancelled" or "discarded" record (results.lua), counted in its batch.
-- KEYS: jobs, scheduled, queues, inflight
-- ARGV: stem, mode ("discard" | "cancel"), day, minute, now_ms, history_ttl_ms, n, then n
--       (id, scheduled member or ""), then the records of chain links (results.lua: chained)
-- Returns {dropped, flagged}, or {-1, ids...}: chain links whose later links' records are needed.
local stem, mode = ARGV[1], ARGV[2]
local dropped, flagged = 0, 0
local now = tonumber(ARGV[5])
local ended = mode == 'cancel' and 'cancelled' or 'discarded'
local err = mode == 'cancel'
  and {class = 'jobframe.Cancelled', message = 'cancelled before it started', reason = 'cancelled'}
  or {message = 'discarded before it started', reason = 'discarded'}
-- Take a ready job off its priority's list (LREM: O(n), but dropping a waiting job is rare): the
-- list its payload names first, else every queue's lists, and an older version's zsets.
local function lrem(q, prio, id)
  local lk = stem .. 'r:' .. q .. ':' .. prio
  if redis.call('LREM', lk, 1, id) == 0 then return false end
  if redis.call('EXISTS', lk) == 0 then redis.call('ZREM', stem .. 'rp:' .. q, prio) end
  return true
end
local function unready(id)
  local payload = redis.call('HGET', KEYS[1], id)
  local ok, doc = pcall(cjson.decode, payload or '')
  if ok and type(doc) == 'table' and type(doc.queue_name) == 'string' and tonumber(doc.priority or 0)
      and lrem(doc.queue_name, string.format('%d', tonumber(doc.priority or 0)), id) then
    return true
  end
  for _, q in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    for _, prio in ipairs(redis.call('ZRANGE', stem .. 'rp:' .. q, 0, -1)) do
      if lrem(q, prio, id) then return true end
    end
    if redis.call('ZREM', stem .. 'q:' .. q, id) == 1 then return true end
  end
  return false
end
local last = 7 + 2 * tonumber(ARGV[7])
local found = chained(last + 1)
local missing = {-1}
for i = 8, last, 2 do
  if not found[ARGV[i]] and linked(redis.call('HGET', KEYS[1], ARGV[i])) then
    missing[#missing + 1] = ARGV[i]
  end
end
if #missing > 1 then return missing end
for i = 8, last, 2 do
  local id, member = ARGV[i], ARGV[i + 1]
  local gone = member ~= '' and redis.call('ZREM', KEYS[2], member) == 1
  if not gone then
    local held = redis.call('HGET', stem .. 'blocked', id)
    if held then
      redis.call('HDEL', stem .. 'blocked', id)
      redis.call('ZREM', stem .. 'blocked:' .. string.match(held, '^[^|]*|[^|]*|(.*)$'), id)
      gone = true
    end
  end
  if not gone then gone = unready(id) end
  if gone then
    local payload = redis.call('HGET', KEYS[1], id)
    local f, jid = flow_of(payload)
    if f then flow().unique_release(stem, f, jid, nil) end
    unindex(stem, id, jid_of(payload))
    results().ended(stem, now, payload, ended, err, ARGV[6])
    break_chain(stem, now, found, id)
    redis.call('HDEL', KEYS[1], id)
    redis.call('SREM', stem .. 'cancel', id)
    dropped = dropped + 1
  elseif mode == 'cancel' and redis.call('HEXISTS', KEYS[4], id) == 1 then
    redis.call('SADD', stem .. 'cancel', id)
    flagged = flagged + 1
  end
end
if mode == 'cancel' then flow().count(stem, 'cancelled', dropped, ARGV[3], ARGV[4]) end
return {dropped, flagged}
