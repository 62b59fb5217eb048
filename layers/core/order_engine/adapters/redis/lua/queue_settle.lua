-- Finish with orders this owner holds (RedisWorkQueue.settle). KEYS: leases, owners, stalls, delayed, ready
-- ARGV: owner, then (id, action, arg) triples; action 'ack' | 'delay' (arg = due ms) | 'release' (back to ready)
-- Returns how many of the ids this owner held.
--#include queue_chunked
local ids = {}
for i = 2, #ARGV, 3 do ids[#ids + 1] = ARGV[i] end
local owners = hmget(KEYS[2], ids)
local held, acked, delays, released, seen = {}, {}, {}, {}, {}
for j, id in ipairs(ids) do
  if owners[j] == ARGV[1] and not seen[id] then
    seen[id] = true
    local i = 2 + (j - 1) * 3
    local action = ARGV[i + 1]
    held[#held + 1] = id
    if action == 'ack' then
      acked[#acked + 1] = id
    elseif action == 'delay' then
      delays[#delays + 1] = ARGV[i + 2]; delays[#delays + 1] = id
    else
      released[#released + 1] = id
    end
  end
end
if #held > 0 then
  chunked('ZREM', KEYS[1], held)
  chunked('HDEL', KEYS[2], held)
end
if #acked > 0 then chunked('HDEL', KEYS[3], acked) end
if #delays > 0 then chunked('ZADD', KEYS[4], delays) end
if #released > 0 then chunked('RPUSH', KEYS[5], released) end
return #held
