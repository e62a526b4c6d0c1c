-- The recurring claim, after the shared enqueue (enqueue.lua; see recurring.py): the job is
-- stored exactly as a plain enqueue stores a ready job, in the same atomic step.
-- KEYS: as ENQUEUE (jobs, seq, wake, scheduled, queues, waiting, inflight, paused), then
--       recurring (task -> mark)
-- ARGV: as ENQUEUE for one ready job (stem, now_ms, id, queue, priority, 0, payload, job_id,
--       batch id), then
--       task, tick (epoch s), the new mark ("tick s|enqueued ms|id|job id")
-- Returns -1 when the task's mark is at or after tick, {1} (ENQUEUE's refusal) when
-- @jobframe.unique refuses the job: another job holds its lock; nothing written either way.
-- Else ENQUEUE's reply. The lock is asked about before the mark moves, and enqueue() then
-- takes it (it is free: the script is atomic).
local task, tick = ARGV[10], tonumber(ARGV[11])
local mark = redis.call('HGET', KEYS[9], task)
if mark and tonumber(string.match(mark, '^(-?%d+)|')) >= tick then return -1 end
local f, jid = flow_of(ARGV[7])
if f and type(f.unique) == 'table' and not flow().unique_free(ARGV[1], f.unique, jid) then
  return {1}
end
redis.call('HSET', KEYS[9], task, ARGV[12])
return enqueue(KEYS, ARGV, 3, 9, ARGV[1], tonumber(ARGV[2]))
