-- Take an order off the dead letters and queue it again, only if it is dead-lettered (its entries on the list go)
-- (RedisOperatorQueue.revive).
-- KEYS: dead_ids, dead, stalls, ready  ARGV: order id   Returns 1 revived, 0 not dead-lettered.
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
for _, raw in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local ok, entry = pcall(cjson.decode, raw)
  if ok and entry.orderId == ARGV[1] then redis.call('LREM', KEYS[2], 0, raw) end
end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[1])
return 1
