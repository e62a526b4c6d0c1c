-- Make scheduled jobs ready now (the inspector's run_now), releasing until="scheduled" locks
-- as a promotion does. KEYS: jobs, scheduled, seq, wake. ARGV: stem, members...
local stem, n = ARGV[1], 0
for i = 2, #ARGV do
  local member = ARGV[i]
  if redis.call('ZREM', KEYS[2], member) == 1 then
    local id, q, prio = string.match(member, '^(.-)|(.*)|(-?%d+)$')
    ready_push(stem, q, tonumber(prio), id)
    local f, jid = flow_of(redis.call('HGET', KEYS[1], id))
    if f then flow().unique_release(stem, f, jid, 'scheduled') end
    n = n + 1
  end
end
wake(KEYS[4], n)
return n
