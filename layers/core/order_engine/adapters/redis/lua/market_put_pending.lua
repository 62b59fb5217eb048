-- Record a sent transaction as pending unless the chain knows it (MarketStore.put_pending).
-- KEYS: transaction  ARGV: ttl, field, value, ...   Returns 1 recorded, 0 already known.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
