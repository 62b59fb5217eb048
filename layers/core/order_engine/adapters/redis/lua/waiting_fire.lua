-- Fires (takes out) the orders whose score the level reached (RedisWaitingBook.take_reached).
-- KEYS: book, expiry, books   ARGV: level, limit   Returns the ids taken out.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
return ids
