-- ResultStore.status in one call: where the job stored for job_id is ({p}:ids tells its id,
-- queue and priority, so each state is one O(1) lookup), its last record and, while it runs,
-- its progress.
-- KEYS: ids, inflight, dead, blocked, scheduled
-- ARGV: stem, job_id
-- Returns {state or '', record ("status|batch|ttl ms|data") or '', progress or ''}.
local stem, jid = ARGV[1], ARGV[2]
local state = ''
local at = redis.call('HGET', KEYS[1], jid)
if at then
  local id, q = string.match(at, '^([^|]*)|(.*)|%-?%d+$')
  if redis.call('HEXISTS', KEYS[2], id) == 1 then state = 'running'
  elseif redis.call('ZSCORE', KEYS[3], id) then state = 'dead'
  elseif redis.call('HEXISTS', KEYS[4], id) == 1 then state = 'blocked'
  elseif redis.call('ZSCORE', KEYS[5], at) then state = 'scheduled'
  elseif redis.call('ZSCORE', stem .. 'q:' .. q, id) then state = 'ready'
  end
end
local rec = redis.call('GET', stem .. 'rec:' .. jid)
local progress = state == 'running' and redis.call('GET', stem .. 'prog:' .. jid) or ''
return {state, rec or '', progress or ''}
