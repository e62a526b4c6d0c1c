-- ResultStore.status in one call: where the job stored for job_id is, its last record and, while
-- it runs, its progress. {p}:ids tells the id, queue and priority of a job stored under another
-- id (a retry, a re-enqueue); a job stored under its job_id (a first enqueue) has no entry and is
-- found in {p}:jobs, its queue and priority read from its payload. Each state is one O(1) lookup;
-- a stored job in none of running, dead, blocked, scheduled is ready.
-- KEYS: ids, inflight, dead, blocked, scheduled, jobs
-- ARGV: stem, job_id
-- Returns {state or '', record ("status|batch|ttl ms|data") or '', progress or ''}.
local stem, jid = ARGV[1], ARGV[2]
local state = ''
local id, member
local at = redis.call('HGET', KEYS[1], jid)
if at then
  id = string.match(at, '^([^|]*)|')
  member = at
else
  local payload = redis.call('HGET', KEYS[6], jid)
  if payload then
    id = jid
    local ok, doc = pcall(cjson.decode, payload)
    if ok and type(doc) == 'table' and type(doc.queue_name) == 'string' then
      member = jid .. '|' .. doc.queue_name .. '|' .. string.format('%d', tonumber(doc.priority) or 0)
    end
  end
end
if id and redis.call('HEXISTS', KEYS[6], id) == 1 then
  if redis.call('HEXISTS', KEYS[2], id) == 1 then state = 'running'
  elseif redis.call('ZSCORE', KEYS[3], id) then state = 'dead'
  elseif redis.call('HEXISTS', KEYS[4], id) == 1 then state = 'blocked'
  elseif member and redis.call('ZSCORE', KEYS[5], member) then state = 'scheduled'
  else state = 'ready'
  end
end
local rec = redis.call('GET', stem .. 'rec:' .. jid)
local progress = state == 'running' and redis.call('GET', stem .. 'prog:' .. jid) or ''
return {state, rec or '', progress or ''}
