-- Mirror the stored steps of many orders (RedisLiveState.record).
-- KEYS: per order (live hash, event log, WebSocket subscribers)
-- ARGV: ttl, held-frames ttl ms, the replaying marker, the held list's infix, the replay lease's suffix (see
-- key_scheme.py), then per order: terminal '1'|'0', n, n field/value items, m, m frames.
-- An order's consecutive steps in one call cost one HSET (the fields after its last step: no reader sees the steps
-- in between, the script being atomic) and one RPUSH of all its frames.
-- Returns each order's subscribers to post to, read after its frames were appended: a subscriber that came later
-- finds the frames in the log it replays (ws_registry.py), so the fan-out needs no lookup of its own. A subscriber
-- whose replay is still being sent gets the frames appended to its held list instead (its replay sends them),
-- unless its replay lease expired: it is then live again.
-- Not in KEYS: each replaying subscriber's held list and replay lease (subscribers set .. infix .. connection, and
-- that .. suffix), built here from the members read; a later issue passes every key in KEYS.
local ttl, held_ttl, a, subscribers = ARGV[1], ARGV[2], 6, {}
local replaying, held_infix, lease_suffix = ARGV[3], ARGV[4], ARGV[5]
for i = 1, #KEYS, 3 do
  local terminal, n = ARGV[a], tonumber(ARGV[a + 1])
  redis.call('HSET', KEYS[i], unpack(ARGV, a + 2, a + 1 + n))
  a = a + 2 + n
  local m = tonumber(ARGV[a])
  redis.call('RPUSH', KEYS[i + 1], unpack(ARGV, a + 1, a + m))
  if terminal == '1' then
    redis.call('EXPIRE', KEYS[i], ttl)
    redis.call('EXPIRE', KEYS[i + 1], ttl)
  end
  local live = {}
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[i + 2])) do
    if string.sub(member, 1, #replaying) == replaying then
      local conn = string.sub(member, #replaying + 1)
      local held = KEYS[i + 2] .. held_infix .. conn
      if redis.call('EXISTS', held .. lease_suffix) == 1 then
        redis.call('RPUSH', held, unpack(ARGV, a + 1, a + m))
        redis.call('PEXPIRE', held, held_ttl)
      else
        redis.call('SREM', KEYS[i + 2], member)
        redis.call('SADD', KEYS[i + 2], conn)
        redis.call('DEL', held)
        live[#live + 1] = conn
      end
    else
      live[#live + 1] = member
    end
  end
  a = a + 1 + m
  subscribers[#subscribers + 1] = live
end
return subscribers
