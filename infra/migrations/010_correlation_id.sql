-- The correlation id of the request that submitted the order (the client's x-correlation-id or API Gateway's
-- request id), so the executor's and the fan-out's log lines about the order carry it.
ALTER TABLE orders ADD COLUMN correlation_id text CHECK (length(correlation_id) <= 128);
