-- Submit of a waiting order (RedisOrderIntake.hold): start its event log, put it in its book and the expiry set.
-- KEYS: the order's event log, its book, expiry, books, executor beats, wake   ARGV: id, score, expiry ms,
-- wake debounce ms, now ms, frame... Answers whether to wake an executor (to watch), as the queue's submit does.
for i = 6, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], KEYS[2])
if redis.call('ZCOUNT', KEYS[5], ARGV[5], '+inf') > 0 then return 0 end
if redis.call('SET', KEYS[6], '1', 'NX', 'PX', ARGV[4]) then return 1 end
return 0
