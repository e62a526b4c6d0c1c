-- ResultStore.write: records written outside a claim, with their batch counting and callbacks.
-- ARGV: stem, now_ms, then (job_id, status, data, ttl_ms, batch_id or '', notify 1|0) per record
local stem, now = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV, 6 do
  results().record(stem, now, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5] == '1')
end
return (#ARGV - 2) / 6
