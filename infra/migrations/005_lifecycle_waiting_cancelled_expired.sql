-- Limit and sniper orders, and cancel: the statuses `waiting` (held until its trigger fires), `cancelled` and
-- `expired` (terminal), and the order types beside `market`. The allowed moves between statuses are rows of
-- order_transitions and the statuses an order may be created in rows of order_initial_statuses, both written
-- by the migrator from order_engine.domain.lifecycle (their one source); the trigger reads both.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN (
    'waiting', 'pending', 'routing', 'building', 'submitted', 'confirmed', 'failed', 'cancelled', 'expired'));

ALTER TABLE orders DROP CONSTRAINT orders_order_type_check;
ALTER TABLE orders ADD CONSTRAINT orders_order_type_check CHECK (order_type IN ('market', 'limit', 'sniper'));

CREATE TABLE order_initial_statuses (
    status text PRIMARY KEY
);

CREATE OR REPLACE FUNCTION orders_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM order_initial_statuses WHERE status = NEW.status) THEN
            RAISE EXCEPTION 'a new order cannot start as %', NEW.status USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM order_transitions WHERE from_status = OLD.status AND to_status = NEW.status) THEN
        RAISE EXCEPTION 'illegal order transition % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
