-- After BLMOVE landed `id` at the head of processing: lease it, or drop a duplicate, or hand it back when the
-- global cap is reached (RedisWorkQueue.wait_claim).
-- KEYS: ready, processing, leases, owners, delayed, peak   ARGV: id, owner, expiry, max, the sweeper's orphan owner
-- Returns {1 leased | 0 dropped as a duplicate | -1 handed back (no room), the orders in flight}.
local id = ARGV[1]
local landed = redis.call('LREM', KEYS[2], 1, id)
local owner = redis.call('HGET', KEYS[4], id)
if landed == 0 and owner == ARGV[5] then
  redis.call('ZADD', KEYS[3], ARGV[3], id)
  redis.call('HSET', KEYS[4], id, ARGV[2])
  return {1, redis.call('ZCARD', KEYS[3])}
end
if redis.call('ZSCORE', KEYS[3], id) or redis.call('ZSCORE', KEYS[5], id) then return {0, 0} end
if landed == 0 then return {0, 0} end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then
  redis.call('RPUSH', KEYS[1], id)
  return {-1, 0}
end
redis.call('ZADD', KEYS[3], ARGV[3], id)
redis.call('HSET', KEYS[4], id, ARGV[2])
local inflight = redis.call('ZCARD', KEYS[3])
if inflight > tonumber(redis.call('GET', KEYS[6]) or '0') then redis.call('SET', KEYS[6], inflight) end
return {1, inflight}
