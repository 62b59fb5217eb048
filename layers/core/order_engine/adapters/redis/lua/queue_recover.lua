-- Expired leases back to ready, or to the dead letters after too many stalls; ids stranded in processing (a crash
-- between BLMOVE and the lease) get a lease of their own, so they expire and come back the same way
-- (RedisWorkQueue.recover_expired).
-- KEYS: leases, owners, stalls, ready, dead, dead_ids, processing
-- ARGV: now, max_stalls, orphan_expiry, at_iso, max_dead, the orphan owner   Returns {requeued, dead, orphans}.
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
local requeued, dead = 0, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  local stalls = redis.call('HINCRBY', KEYS[3], id, 1)
  if stalls > tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[3], id)
    redis.call('SADD', KEYS[6], id)
    redis.call('LPUSH', KEYS[5], cjson.encode({entry = id, orderId = id, at = ARGV[4],
      reason = 'stalled ' .. stalls .. ' times: its executor stopped (crash or timeout) while working on it'}))
    redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[5]) - 1)
    dead = dead + 1
  else
    redis.call('RPUSH', KEYS[4], id)
    requeued = requeued + 1
  end
end
local orphans = redis.call('LRANGE', KEYS[7], 0, -1)
for _, id in ipairs(orphans) do
  redis.call('LREM', KEYS[7], 1, id)
  if redis.call('ZADD', KEYS[1], 'NX', ARGV[3], id) == 1 then
    redis.call('HSET', KEYS[2], id, ARGV[6])
  end
end
return {requeued, dead, #orphans}
