-- Land every transaction in KEYS[2..] on the pair KEYS[1], or none (MarketStore.land). ARGV: expected version,
-- new state, now, ttl, then per transaction: sent_now ('1': no pending record yet), its blockhash expiry, n, and n
-- field/value items.
-- Returns {1, new version}; {0, version, state} when the pair changed; {-1, i, why, ...} for the transactions that
-- cannot land (already landed or expired: 'expired', '' unknown, or its state), so the caller lands the others.
local now, ttl = tonumber(ARGV[3]), ARGV[4]
local txs, refused, a = {}, {}, 5
for i = 2, #KEYS do
  local sent_now, expiry, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local tx = redis.call('HMGET', KEYS[i], 'state', 'expires_at')
  local state, expires = tx[1], tx[2]
  if not state and sent_now == '1' then state, expires = 'pending', expiry end
  if state ~= 'pending' then
    refused[#refused + 1] = i - 1; refused[#refused + 1] = state or ''
  elseif now >= tonumber(expires) then
    redis.call('HSET', KEYS[i], 'state', 'expired', 'expires_at', expires)
    redis.call('EXPIRE', KEYS[i], ttl)
    refused[#refused + 1] = i - 1; refused[#refused + 1] = 'expired'
  end
  txs[#txs + 1] = {KEYS[i], expires, a + 3, a + 2 + n}
  a = a + 3 + n
end
if #refused > 0 then return {-1, unpack(refused)} end
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return {0, v, redis.call('HGET', KEYS[1], 's') or ''} end
local nv = tostring(tonumber(v) + 1)
redis.call('HSET', KEYS[1], 'v', nv, 's', ARGV[2])
for _, tx in ipairs(txs) do
  redis.call('HSET', tx[1], 'expires_at', tx[2], unpack(ARGV, tx[3], tx[4]))
  redis.call('EXPIRE', tx[1], ttl)
end
return {1, nv}
