-- Takes out the orders whose expiry passed, from their books too (RedisWaitingBook.take_expired).
-- KEYS: expiry, books   ARGV: now ms, limit   Returns the ids taken out.
-- Not in KEYS: each order's book, read from the books hash (a later issue passes every key in KEYS).
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local book = redis.call('HGET', KEYS[2], id)
  if book then redis.call('ZREM', book, id) end
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
return ids
