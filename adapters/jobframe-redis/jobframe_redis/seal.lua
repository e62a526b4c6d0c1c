-- ResultStore.seal_batch: the batch's `with` block ended; fire its callbacks now if every job
-- already finished (results.lua), once.
-- ARGV: stem, now_ms, batch id. Returns 1, or 0 for an unknown (or expired) batch.
local stem, bid = ARGV[1], ARGV[3]
local b = stem .. 'batch:' .. bid
if redis.call('EXISTS', b) == 0 then return 0 end
if redis.call('HGET', b, 'sealed') == '1' then return 1 end
redis.call('HSET', b, 'sealed', '1')
redis.call('PERSIST', b)
redis.call('PERSIST', b .. ':jobs')
results().fire(stem, tonumber(ARGV[2]), bid)
return 1
