-- Retries whose backoff is over back to the ready list (RedisWorkQueue.promote_due).
-- KEYS: delayed, ready  ARGV: now, limit   Returns {promoted, the next due time as a string, or false}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('RPUSH', KEYS[2], id)
end
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, next[2] or false}
