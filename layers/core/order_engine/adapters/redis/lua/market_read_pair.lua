-- A pair's state unless the caller knows its version (MarketStore.read_pair).
-- KEYS: the pair   ARGV: the known version   Returns {'0'} unseeded, {v} unchanged, or {v, state}.
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {'0'} end
if v == ARGV[1] then return {v} end
return {v, redis.call('HGET', KEYS[1], 's')}
