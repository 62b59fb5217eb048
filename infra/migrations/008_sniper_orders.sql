-- Sniper orders: the most a sniper order may pay, whole tokenIn per whole tokenOut (its least output follows from
-- it). It waits like a limit order (expires_at, waiting_trigger of kind 'listing'); 005 allows the order type.
ALTER TABLE orders ADD COLUMN max_price numeric CHECK (max_price > 0);
