-- Replace a pair's state if its version is still the expected one (MarketStore.cas_pair).
-- KEYS: the pair   ARGV: expected version, new state   Returns {1, new version} or {0, version, state}.
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return {0, v, redis.call('HGET', KEYS[1], 's') or ''} end
local nv = tostring(tonumber(v) + 1)
redis.call('HSET', KEYS[1], 'v', nv, 's', ARGV[2])
return {1, nv}
