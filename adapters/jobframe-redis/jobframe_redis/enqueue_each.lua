-- ENQUEUE's keys and arguments for several jobs (7 arguments each after stem and now); one
-- reply per job: enqueue()'s for that job alone, or, when it raised, an error in its place.
local out, stem, now = {}, ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV, 7 do
  local ok, reply = pcall(enqueue, KEYS, ARGV, i, i + 6, stem, now)
  if not ok then
    -- redis.call raises a table ({err = ...}), the script itself a string
    reply = redis.error_reply(type(reply) == 'table' and tostring(reply.err) or tostring(reply))
  end
  out[#out + 1] = reply
end
return out
