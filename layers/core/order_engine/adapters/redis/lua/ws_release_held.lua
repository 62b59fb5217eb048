-- The frames held for a replaying subscriber, emptied; when none are left, the subscription goes live (unless it
-- was removed meanwhile) (RedisConnectionRegistry.release_held).
-- KEYS: the order's subscriber set, the held list, the replay lease. ARGV: connection id, the replaying marker.
local frames = redis.call('LRANGE', KEYS[2], 0, -1)
if #frames > 0 then
  redis.call('DEL', KEYS[2])
  return frames
end
redis.call('DEL', KEYS[3])
if redis.call('SREM', KEYS[1], ARGV[2] .. ARGV[1]) == 1 then redis.call('SADD', KEYS[1], ARGV[1]) end
return frames
