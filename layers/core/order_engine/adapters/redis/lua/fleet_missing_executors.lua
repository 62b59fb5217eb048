-- How many executors the queue needs, and a start slot for each one missing: the slots count as live executors
-- until the started one beats (and removes its slot) or `start grace` passes (the start failed)
-- (RedisExecutorFleet.missing_executors).
-- KEYS: beats, ready, leases, delayed, processing
-- ARGV: now, orders per executor, max instances, min instances while work exists, start grace ms, slot prefix
-- Returns the slots reserved.
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local work = redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4])
  + redis.call('LLEN', KEYS[5])
if work == 0 then return {} end
local need = math.ceil(work / tonumber(ARGV[2]))
if need < tonumber(ARGV[4]) then need = tonumber(ARGV[4]) end
if need > tonumber(ARGV[3]) then need = tonumber(ARGV[3]) end
local slots = {}
for i = redis.call('ZCARD', KEYS[1]) + 1, need do
  local slot = ARGV[6] .. i .. ':' .. ARGV[1]
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), slot)
  slots[#slots + 1] = slot
end
return slots
