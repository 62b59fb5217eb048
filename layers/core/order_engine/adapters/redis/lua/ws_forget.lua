-- Forget a connection and every subscription it had ($disconnect, or a post's 410 past the connect grace)
-- (RedisConnectionRegistry.remove / forget_gone, AsyncConnectionRegistry.forget_gone).
-- KEYS: connection hash, connection's order set.
-- ARGV: connection id, subscriber-set key template, now ms, grace ms (-1: remove unconditionally), the order whose
-- post got the 410 ('' for none), the template's order placeholder, the replaying marker, the held list's infix,
-- the replay lease's suffix (see key_scheme.py).   Returns 1 forgotten, 0 kept (not open yet, within the grace).
-- Not in KEYS: each order's subscriber set, held list and replay lease, built here from the order ids the
-- connection's order set holds; a later issue passes every key in KEYS.
local placeholder, replaying, held_infix, lease_suffix = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if tonumber(ARGV[4]) >= 0 then
  local state = redis.call('HMGET', KEYS[1], 'connectedAt', 'open')
  if state[1] and state[2] ~= '1' and tonumber(ARGV[3]) - tonumber(state[1]) < tonumber(ARGV[4]) then
    return 0
  end
end
local orders = redis.call('SMEMBERS', KEYS[2])
if ARGV[5] ~= '' then table.insert(orders, ARGV[5]) end
for _, order_id in ipairs(orders) do
  local subscribers = (string.gsub(ARGV[2], placeholder, order_id))
  local held = subscribers .. held_infix .. ARGV[1]
  redis.call('SREM', subscribers, ARGV[1], replaying .. ARGV[1])
  redis.call('DEL', held, held .. lease_suffix)
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
