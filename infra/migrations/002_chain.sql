-- The simulated chain's durable record of landed transactions: an outside system's state, kept apart from the
-- engine's tables and written only by order_engine.dex.chain_store, so it survives a Redis flush and the
-- executor's recovery can ask honestly whether a transaction landed.
CREATE TABLE chain_transactions (
    signature        text        PRIMARY KEY,
    order_id         text,
    state            text        NOT NULL CHECK (state IN ('confirmed', 'failed')),
    input_mint       text        NOT NULL,
    output_mint      text        NOT NULL,
    amount_in        bigint      NOT NULL,
    min_amount_out   bigint      NOT NULL,
    amount_out       bigint,     -- null when the swap failed
    executed_price   text,
    error            text,
    legs             jsonb       NOT NULL DEFAULT '[]',
    landed_at_ms     bigint      NOT NULL,
    confirmed_at_ms  bigint      NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX chain_transactions_order ON chain_transactions (order_id);
