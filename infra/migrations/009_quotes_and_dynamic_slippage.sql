-- Orders executed by a quote (POST /api/orders/execute with quoteId) keep the quote's terms: the route and the
-- minimum output they are held to. Orders with dynamic slippage keep their bounds; slippage_bps then holds the
-- tolerance the executor picked (the bound's maximum until it picks). Neither column is indexed, so status
-- changes stay heap-only (004).
ALTER TABLE orders ADD COLUMN quote jsonb, ADD COLUMN dynamic_slippage jsonb;
