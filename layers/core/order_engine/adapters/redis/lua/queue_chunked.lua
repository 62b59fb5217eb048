-- Shared by the queue's scripts: scripts.py puts this file in place of their include line.
-- Lua's unpack() is bounded by its C stack: multi-member commands go out in chunks of 4000 arguments.
local function chunked(command, key, items, flag)
  for i = 1, #items, 4000 do
    local last = math.min(i + 3999, #items)
    if flag then redis.call(command, key, flag, unpack(items, i, last))
    else redis.call(command, key, unpack(items, i, last)) end
  end
end
local function hmget(key, ids)
  local values = {}
  for i = 1, #ids, 4000 do
    for _, v in ipairs(redis.call('HMGET', key, unpack(ids, i, math.min(i + 3999, #ids)))) do
      values[#values + 1] = v
    end
  end
  return values
end
