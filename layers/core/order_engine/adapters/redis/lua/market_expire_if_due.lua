-- Mark a pending transaction expired once its blockhash is (MarketStore.expire_if_due).
-- KEYS: transaction  ARGV: now ms   Returns its state ('' unknown).
local tx = redis.call('HMGET', KEYS[1], 'state', 'expires_at')
if tx[1] == 'pending' and tonumber(ARGV[1]) >= tonumber(tx[2]) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  return 'expired'
end
return tx[1] or ''
