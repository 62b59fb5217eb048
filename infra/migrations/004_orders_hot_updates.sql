-- Status changes as heap-only (HOT) updates: an order's row is rewritten at every step, and a step that changes
-- no indexed column (nor one an index predicate reads) touches no index and stays on its page. So no index keys
-- or filters on `status`: the reconciler's partial index filters on `completed_at`, which only the terminal step
-- sets; a history page filtered by status walks orders_newest and skips the other statuses. Free space on
-- each page (fillfactor) lets the new row version stay there. The transition guard still refuses illegal
-- changes (the trigger fires on UPDATE OF status, index or not).
DROP INDEX orders_status_newest;
DROP INDEX orders_unfinished;
CREATE INDEX orders_unfinished ON orders (created_at) WHERE completed_at IS NULL;
ALTER TABLE orders SET (fillfactor = 70);
