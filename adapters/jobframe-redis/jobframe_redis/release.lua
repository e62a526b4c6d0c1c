-- Give claims back to the head of their queues (shutdown): no attempt, no crash counted;
-- a slot a claim held is freed and the oldest blocked job of its key made ready.
-- KEYS: inflight, wake
-- ARGV: stem, process, then (id, token) per claim
local stem, pid = ARGV[1], ARGV[2]
local released, back, settled = 0, {}, {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], id)
  if cur and string.sub(cur, 1, #token + 1) == token .. '|' then
    local parts = split(cur)
    back[#back + 1] = {id, parts}
    redis.call('HDEL', KEYS[1], id)
    redis.call('SREM', stem .. 'claims:' .. pid, id)
    released = released + 1
    if parts[6] == 'f' then settled[#settled + 1] = id end
  end
end
-- the blocked jobs a freed slot readies first, so that the claims, pushed after them at the head
-- of their priority's list in the order they were claimed, come before them as they were
for _, id in ipairs(settled) do
  local f = flow_of(redis.call('HGET', stem .. 'jobs', id))
  if f then released = released + flow().settle(stem, id, f) end
end
requeue(stem, back)
wake(KEYS[2], released)
return released
