-- Fewer durable writes per order: a step that need not be durable before the next one starts (routing before
-- building, submitted before the terminal step when the chain answers at once) is written in the same UPDATE as
-- the next, which moves the order through both statuses at once. `via` names the statuses passed through on the
-- way to the new `status`; the guard checks every hop against order_transitions and clears it, so it is never
-- stored (NULL in every row, no index on it: status changes stay heap-only, see 004).
ALTER TABLE orders ADD COLUMN via text[];

CREATE FUNCTION orders_check_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hop_from text := OLD.status;
    hop_to   text;
BEGIN
    FOREACH hop_to IN ARRAY coalesce(NEW.via, CAST('{}' AS text[])) || CAST(NEW.status AS text) LOOP
        IF NOT EXISTS (SELECT 1 FROM order_transitions WHERE from_status = hop_from AND to_status = hop_to) THEN
            RAISE EXCEPTION 'illegal order transition % -> %', hop_from, hop_to USING ERRCODE = 'check_violation';
        END IF;
        hop_from := hop_to;
    END LOOP;
    NEW.via := NULL;
    RETURN NEW;
END $$;

-- The insert check stays with orders_check_transition (whatever statuses a new order may start in); updates
-- get the hop-by-hop guard.
DROP TRIGGER orders_transition_guard ON orders;
CREATE TRIGGER orders_initial_status_guard
    BEFORE INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_check_transition();
CREATE TRIGGER orders_transition_guard
    BEFORE UPDATE OF status, via ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_check_path();
