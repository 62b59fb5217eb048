-- The operator panel finds orders by the client's own reference (history ?clientOrderId=).
CREATE INDEX orders_client_order_id_newest ON orders (client_order_id, created_at DESC, id DESC)
    WHERE client_order_id IS NOT NULL;
