-- Extend this owner's leases (RedisWorkQueue.renew).
-- KEYS: leases, owners  ARGV: owner, expiry, ids...  Returns the ids whose lease this owner no longer holds.
-- An id nobody holds (Redis lost its leases: FLUSHALL, or a restart without them) is taken back by the executor
-- still working on it, so it is neither reclaimed by the reconciler nor left unheld.
--#include queue_chunked
local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
local owners = hmget(KEYS[2], ids)
local mine, taken, lost = {}, {}, {}
for i, id in ipairs(ids) do
  local owner = owners[i]
  if owner == ARGV[1] then
    mine[#mine + 1] = ARGV[2]; mine[#mine + 1] = id
  elseif not owner and not redis.call('ZSCORE', KEYS[1], id) then
    taken[#taken + 1] = id
  else
    lost[#lost + 1] = id
  end
end
if #mine > 0 then chunked('ZADD', KEYS[1], mine, 'XX') end
for _, id in ipairs(taken) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
  redis.call('HSET', KEYS[2], id, ARGV[1])
end
return lost
