-- Orders and their timelines. Amounts are integers in base units; mints identify tokens.
CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    status           text        NOT NULL CHECK (status IN ('pending', 'routing', 'building', 'submitted', 'confirmed', 'failed')),
    order_type       text        NOT NULL DEFAULT 'market' CHECK (order_type IN ('market')),
    token_in         text        NOT NULL,  -- input mint (the seeds' token_in / input_mint)
    token_out        text        NOT NULL,  -- output mint
    amount_in        bigint      NOT NULL CHECK (amount_in > 0),
    slippage_bps     integer     NOT NULL CHECK (slippage_bps BETWEEN 0 AND 10000),
    client_order_id  text        CHECK (length(client_order_id) <= 64),
    idempotency_key  text        UNIQUE,
    request_hash     text        NOT NULL,
    dex              text,
    executed_price   numeric,
    amount_out       bigint,     -- the seeds' expected_out once quoted, the actual output once confirmed
    min_amount_out   bigint,
    tx_hash          text,
    error            text,       -- the seeds' error / failure_reason
    attempts         integer     NOT NULL DEFAULT 0,
    seq              integer     NOT NULL DEFAULT 1,  -- the seq of the order's latest event
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    CHECK (token_in <> token_out)
);

CREATE INDEX orders_newest ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_newest ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_token_in_newest ON orders (token_in, created_at DESC, id DESC);
CREATE INDEX orders_token_out_newest ON orders (token_out, created_at DESC, id DESC);
CREATE INDEX orders_unfinished ON orders (created_at) WHERE status NOT IN ('confirmed', 'failed');

CREATE TABLE order_events (
    order_id  uuid        NOT NULL REFERENCES orders (id),
    seq       integer     NOT NULL CHECK (seq > 0),
    status    text        NOT NULL,
    attempt   integer     NOT NULL DEFAULT 0,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    detail    jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (order_id, seq)
);

-- The allowed status changes. Rows are written by the migrator from order_engine.domain.lifecycle, the one
-- source of the rules; the trigger makes the database refuse every other change.
CREATE TABLE order_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);

CREATE FUNCTION orders_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' THEN
            RAISE EXCEPTION 'a new order must start as pending, not %', NEW.status USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM order_transitions WHERE from_status = OLD.status AND to_status = NEW.status) THEN
        RAISE EXCEPTION 'illegal order transition % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER orders_transition_guard
    BEFORE INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_check_transition();
