-- A message handled after its connection's `$disconnect` (both were in flight at once) must not bring the
-- connection's keys back: nothing would remove them before they expire. Returns 0 when the connection is gone
-- (RedisConnectionRegistry.seen).
-- KEYS: connection hash, connection's order set. ARGV: connectedAt, ttl ms.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'connectedAt', ARGV[1], 'open', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
