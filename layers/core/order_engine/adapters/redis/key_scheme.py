"""Every Redis key the engine uses, named in one place. All share the configured prefix."""
from __future__ import annotations

from dataclasses import dataclass


REPLAYING = "~"  # marks a subscriber-set member whose replay is still being sent (never in a connection id)
HELD_INFIX = ":held:"  # ws_held(order, conn) = ws_subscribers(order) + HELD_INFIX + conn, also built in Lua
LEASE_SUFFIX = ":lease"


@dataclass(frozen=True)
class KeyScheme:
    prefix: str = "oe:"

    def submit_bucket(self, client_id: str) -> str:
        """HASH tokens, at (ms): a client's submit token bucket (adapters/redis/submit_buckets.py)."""
        return f"{self.prefix}ratelimit:submit:{client_id}"

    @property
    def ready(self) -> str:
        """LIST of order ids waiting for an executor (LPUSH by submit, BLMOVE by the executor)."""
        return f"{self.prefix}queue:ready"

    @property
    def executor_beats(self) -> str:
        """ZSET executor -> heartbeat expiry (ms): the live executors, plus start slots of ones being launched
        (`start:...`); submit wakes one when none is live, live ones launch more when the queue needs them."""
        return f"{self.prefix}executor:beats"

    @property
    def redis_marker(self) -> str:
        """Set by the first executor to find it missing; gone means Redis lost its data, so executors reconcile."""
        return f"{self.prefix}executor:marker"

    @property
    def processing(self) -> str:
        """LIST where BLMOVE lands a claimed id until its lease is taken (a crash in between leaves it here)."""
        return f"{self.prefix}queue:processing"

    @property
    def leases(self) -> str:
        """ZSET order id -> lease expiry (ms): the orders in flight, across all executors."""
        return f"{self.prefix}queue:leases"

    @property
    def lease_owners(self) -> str:
        """HASH order id -> the executor instance holding its lease."""
        return f"{self.prefix}queue:lease-owners"

    @property
    def delayed(self) -> str:
        """ZSET order id -> due time (ms) of its next attempt (retries waiting out their backoff)."""
        return f"{self.prefix}queue:delayed"

    @property
    def stalls(self) -> str:
        """HASH order id -> how many times its lease expired with the order unfinished."""
        return f"{self.prefix}queue:stalls"

    @property
    def dead(self) -> str:
        """LIST of dead letters, newest first: JSON {entry, orderId, reason, at}."""
        return f"{self.prefix}queue:dead"

    def quote(self, quote_id: str) -> str:
        """STRING (JSON) of a quote's terms (GET /api/quote), kept a while past its validity so an expired id is
        told apart from an unknown one."""
        return f"{self.prefix}quote:{quote_id}"

    @property
    def dead_ids(self) -> str:
        """SET of dead-lettered order ids, which the reconciler leaves alone."""
        return f"{self.prefix}queue:dead-ids"

    @property
    def peak_in_flight(self) -> str:
        """The most orders ever in flight at once across all executors (as measured at each claim)."""
        return f"{self.prefix}queue:peak-in-flight"

    @property
    def sweep_lock(self) -> str:
        """Held for one sweep interval by the executor that promotes due retries and recovers expired leases."""
        return f"{self.prefix}executor:sweep"

    @property
    def reconcile_lock(self) -> str:
        """Held for one reconcile interval by the executor that reconciles PostgreSQL with Redis."""
        return f"{self.prefix}executor:reconcile"

    @property
    def watch_lock(self) -> str:
        """Held for one slot by the executor that runs the waiting orders' watcher this tick."""
        return f"{self.prefix}executor:watch"

    def waiting_book(self, kind: str, key: str) -> str:
        """ZSET order id -> trigger score: the waiting orders of one trigger book (e.g. one direction of a pair
        by limit price); the watcher fires the range the market reached."""
        return f"{self.prefix}waiting:{kind}:{key}"

    @property
    def waiting_expiry(self) -> str:
        """ZSET order id -> expiry (ms): every waiting order, so the watcher ends the expired ones."""
        return f"{self.prefix}waiting:expiry"

    @property
    def waiting_books(self) -> str:
        """HASH order id -> the key of the book that holds it, so an expiry leaves no entry behind."""
        return f"{self.prefix}waiting:books"

    @property
    def executor_wake(self) -> str:
        """Set for a moment by the submit that wakes an executor, so a burst of submits wakes only one."""
        return f"{self.prefix}executor:wake"

    def order_live(self, order_id: str) -> str:
        """HASH: the order's live state, for readers that must not hit PostgreSQL."""
        return f"{self.prefix}order:{order_id}"

    def order_events(self, order_id: str) -> str:
        """LIST: the order's events as JSON, in seq order."""
        return f"{self.prefix}order:{order_id}:events"

    def ws_connection(self, connection_id: str) -> str:
        """HASH: one WebSocket connection (connectedAt, open flag); expires with API Gateway's limits."""
        return f"{self.prefix}ws:conn:{connection_id}"

    def ws_connection_orders(self, connection_id: str) -> str:
        """SET: the order ids a connection is subscribed to, so $disconnect can clean every subscription."""
        return f"{self.prefix}ws:conn:{connection_id}:orders"

    def dex_pair(self, pair: str) -> str:
        """HASH {v: version, s: JSON state}: one pair's simulated market (reference price, Raydium reserves,
        Meteora bins), shared by every executor; written only by compare-and-set on `v`."""
        return f"{self.prefix}dex:pair:{pair}"

    def dex_transaction(self, signature: str) -> str:
        """HASH: a transaction sent to the simulated chain (pending, then landed or expired)."""
        return f"{self.prefix}dex:tx:{signature}"

    def ws_subscribers(self, order_id: str) -> str:
        """SET: the connection ids subscribed to an order; the fan-out posts to each. A member marked REPLAYING
        is still being sent the order's replay: the executor holds its frames back (ws_held) until then."""
        return f"{self.prefix}ws:order:{order_id}:subscribers"

    def ws_held(self, order_id: str, connection_id: str) -> str:
        """LIST: the frames held back for a subscriber while its replay is sent (see adapters/redis/ws_registry.py)."""
        return self.ws_subscribers(order_id) + HELD_INFIX + connection_id

    def ws_replay_lease(self, order_id: str, connection_id: str) -> str:
        """STRING with an expiry: the replay of the order to the connection is under way."""
        return self.ws_held(order_id, connection_id) + LEASE_SUFFIX
