-- The rate limiter's reservation (GCRA): the next start of a key is max(now, its theoretical
-- arrival time); the arrival time moves one interval past it. Server time, so every worker on
-- every host reads one clock.
-- ARGV: stem, key, interval_ms. Returns the reserved start, epoch microseconds.
local key, interval = ARGV[1] .. 'rate:' .. ARGV[2], tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local start = math.max(now, tonumber(redis.call('GET', key) or 0))
local tat = start + interval * 1000
redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return string.format('%.0f', start)
