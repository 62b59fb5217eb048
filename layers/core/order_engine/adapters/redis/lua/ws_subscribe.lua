-- A subscription starts replaying (see ws_registry.py); subscribing again replays again
-- (RedisConnectionRegistry.subscribe). Returns 0 when the connection is gone, else 1.
-- KEYS: connection hash, connection's order set, the order's subscriber set, the held list, the replay lease.
-- ARGV: connection id, order id, the order set's ttl ms, the subscriber set's ttl ms, the lease ms, the replaying
-- marker.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[6] .. ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('DEL', KEYS[4])
redis.call('SET', KEYS[5], '1', 'PX', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
