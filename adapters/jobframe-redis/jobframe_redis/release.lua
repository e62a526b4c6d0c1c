-- Give claims back to their queues where they were (shutdown): no attempt, no crash counted;
-- a slot a claim held is freed and the oldest blocked job of its key made ready.
-- KEYS: inflight, wake
-- ARGV: stem, process, then (id, token) per claim
local stem, pid = ARGV[1], ARGV[2]
local released = 0
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], id)
  if cur and string.sub(cur, 1, #token + 1) == token .. '|' then
    local parts = split(cur)
    redis.call('ZADD', stem .. 'q:' .. parts[3], parts[4], id)
    redis.call('HDEL', KEYS[1], id)
    redis.call('SREM', stem .. 'claims:' .. pid, id)
    released = released + 1
    if parts[6] == 'f' then
      local f = flow_of(redis.call('HGET', stem .. 'jobs', id))
      if f then released = released + flow().settle(stem, id, f) end
    end
  end
end
wake(KEYS[2], released)
return released
