-- Lease up to n ready orders at once (RedisWorkQueue.claim).
-- KEYS: ready, processing, leases, owners, delayed, peak   ARGV: n, owner, expiry, max_in_flight
-- Returns {the orders in flight, duplicates dropped, the claimed ids}.
-- A few commands per claim, not per order: ids pop in one RPOP, are checked in one ZMSCORE per set, leased in one
-- ZADD and one HSET.
--#include queue_chunked
local n = tonumber(ARGV[1])
local room = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[3])
if room < n then n = room end
local claimed, dropped, seen, leases, owners = {}, 0, {}, {}, {}
while #claimed < n do
  local want = n - #claimed
  local ids = redis.call('RPOP', KEYS[1], want)
  if not ids then break end
  local leased = redis.call('ZMSCORE', KEYS[3], unpack(ids))
  local delayed = redis.call('ZMSCORE', KEYS[5], unpack(ids))
  for i, id in ipairs(ids) do
    if leased[i] or delayed[i] or seen[id] then
      dropped = dropped + 1
    else
      seen[id] = true
      claimed[#claimed + 1] = id
      leases[#leases + 1] = ARGV[3]; leases[#leases + 1] = id
      owners[#owners + 1] = id; owners[#owners + 1] = ARGV[2]
    end
  end
  if #ids < want then break end
end
if #claimed > 0 then
  chunked('ZADD', KEYS[3], leases)
  chunked('HSET', KEYS[4], owners)
end
local inflight = redis.call('ZCARD', KEYS[3])
if inflight > tonumber(redis.call('GET', KEYS[6]) or '0') then redis.call('SET', KEYS[6], inflight) end
return {inflight, dropped, claimed}
