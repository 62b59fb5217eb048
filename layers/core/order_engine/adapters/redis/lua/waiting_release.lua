-- Takes one order out of its book (a cancel), so no stale entry stays behind (RedisWaitingRelease.release).
-- KEYS: expiry, books   ARGV: id   Returns 1 when it was in the expiry set.
-- Not in KEYS: the order's book, read from the books hash (a later issue passes every key in KEYS).
local book = redis.call('HGET', KEYS[2], ARGV[1])
if book then redis.call('ZREM', book, ARGV[1]) end
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
