-- Put an entry on the dead letters, and drop this owner's lease of it (RedisWorkQueue.dead_letter).
-- KEYS: leases, owners, stalls, dead, dead_ids  ARGV: owner, entry, order_id ('' if none), reason, at_iso, max_dead
local id = ARGV[3]
local leased = id ~= '' and id or ARGV[2]  -- a corrupt entry was leased under its own text
if redis.call('HGET', KEYS[2], leased) == ARGV[1] then
  redis.call('ZREM', KEYS[1], leased)
  redis.call('HDEL', KEYS[2], leased)
end
if id ~= '' then
  redis.call('HDEL', KEYS[3], id)
  redis.call('SADD', KEYS[5], id)
end
redis.call('LPUSH', KEYS[4], cjson.encode({entry = ARGV[2], orderId = (id ~= '' and id or cjson.null),
  reason = ARGV[4], at = ARGV[5]}))
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
return 1
