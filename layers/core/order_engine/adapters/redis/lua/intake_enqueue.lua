-- Submit (RedisOrderIntake.enqueue): one round trip and one command to parse. Start the event log before queueing
-- (so the executor's seq 2 never lands before seq 1), then answer whether this submit should wake an executor:
-- none is live (no heartbeat or start slot unexpired in the beats ZSET) and no other submit woke one within the
-- debounce window.
-- KEYS: the order's event log, ready, executor beats, wake   ARGV: order id, first frame, debounce ms, now ms
-- Returns 1 to wake an executor, else 0.
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[1])
if redis.call('ZCOUNT', KEYS[3], ARGV[4], '+inf') > 0 then return 0 end
if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[3]) then return 1 end
return 0
