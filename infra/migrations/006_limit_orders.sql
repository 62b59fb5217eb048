-- Limit orders: the limit price (whole tokenOut per tokenIn) and expiry a limit order was given, and the trigger
-- a waiting order waits for (JSON {kind, key, score}, the form its Redis book is rebuilt from). `waiting_trigger`
-- is set while the order waits and cleared when it leaves `waiting`, so the indexes below tell waiting orders
-- from queued ones without reading `status` (an index on it would end heap-only updates, see 004).
ALTER TABLE orders
    ADD COLUMN limit_price     numeric CHECK (limit_price > 0),
    ADD COLUMN expires_at      timestamptz,
    ADD COLUMN waiting_trigger jsonb;

-- The reconciler's queued orders leave the waiting ones out; the rebuild of the Redis books reads these.
DROP INDEX orders_unfinished;
CREATE INDEX orders_unfinished ON orders (created_at) WHERE completed_at IS NULL AND waiting_trigger IS NULL;
CREATE INDEX orders_waiting ON orders (expires_at) WHERE completed_at IS NULL AND waiting_trigger IS NOT NULL;
