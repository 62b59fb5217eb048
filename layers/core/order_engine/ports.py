"""The ports: what the use cases in `services/` need from the world outside them, as protocols, and the values
that cross them. Adapters (`adapters/`, `dex/`) implement them structurally; `bootstrap` plugs them in; tests plug in
fakes. Every adapter translates its own failures into `DependencyUnavailable`, so a use case handles one error.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Protocol, Sequence

from order_engine.domain.api_keys import EVERY_CLIENT, KeyRecord
from order_engine.domain.lifecycle import Status
from order_engine.domain.listings import Listing
from order_engine.domain.tokens import Token
from order_engine.domain.order import HistoryPosition, Order, OrderEvent, OrderRequest
from order_engine.domain.swaps import BuiltSwap, Route, SwapResult
from order_engine.domain.transition import Transition
from order_engine.domain.triggers import Trigger

# -- values ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inserted:
    order: Order
    created: bool  # False: the idempotency key named an order that already existed
    same_request: bool  # with created False: whether that order was made from the same request


@dataclass(frozen=True)
class Claimed:
    ids: list[str]
    in_flight: int  # across all executors, right after this claim
    duplicates_dropped: int


@dataclass(frozen=True)
class Promoted:
    """Retries moved back to the ready list, and when the next one still waiting is due (None: none waits)."""

    promoted: int
    next_due_ms: int | None


@dataclass(frozen=True)
class Recovered:
    requeued: int
    dead_lettered: int
    orphans: int


@dataclass(frozen=True)
class Snapshot:
    """Every order id the queue holds, read atomically (for the reconciler)."""

    held: set[str]
    dead: set[str]


@dataclass(frozen=True)
class ConnectionState:
    connected_at_ms: int
    open: bool
    reader: str | None = None  # the client $connect admitted (EVERY_CLIENT: any client's orders); None: not recorded


class PostResult(Enum):
    DELIVERED = "delivered"
    GONE = "gone"  # 410: the connection is closed, or its $connect has not returned yet
    FAILED = "failed"  # anything else, after the retries


# -- observability --------------------------------------------------------------------------------------------


class Metrics(Protocol):
    """Counts, timings and gauges, aggregated in memory and emitted together by `flush` (CloudWatch EMF): once per
    invocation in the request functions, every `metrics_flush_ms` and at the end of a run in the executor."""

    def count(self, name: str, value: float = 1, reason: str | None = None) -> None:
        """Add to a count; `reason` (a failure's class) becomes a dimension of its own."""

    def timing(self, name: str, ms: float) -> None: ...
    def gauge(self, name: str, value: float) -> None:
        """The latest value wins at the next flush (queue depth, orders in flight)."""

    def flush(self) -> None: ...

    @property
    def enabled(self) -> bool:
        """False for the no-op: callers skip work done only to measure (a queue-depth read)."""


class NoMetrics:
    """Where metrics are off or not wired (unit tests' fakes, metrics_enabled=0)."""

    enabled = False

    def count(self, name: str, value: float = 1, reason: str | None = None) -> None:
        return None

    def timing(self, name: str, ms: float) -> None:
        return None

    def gauge(self, name: str, value: float) -> None:
        return None

    def flush(self) -> None:
        return None


NO_METRICS = NoMetrics()


# -- submit and read ------------------------------------------------------------------------------------------


class OrderStore(Protocol):
    """The durable orders and their timelines (PostgreSQL)."""

    # client_id: the submitting client's ('' when access control is off); None in a read means every client's
    def insert(self, order_id: str, request: OrderRequest, idempotency_key: str | None,
               trigger: Trigger | None = None, correlation_id: str | None = None, client_id: str = "") -> Inserted:
        """Write the order and its first event; with a `trigger` it is created waiting for it."""
    def get(self, order_id: str, client_id: str | None = None) -> Order | None: ...
    def get_with_events(self, order_id: str, client_id: str | None = None
                        ) -> tuple[Order, list[OrderEvent]] | None: ...
    def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]: ...
    def history(self, limit: int, after: HistoryPosition | None, status: Status | None,
                mint: str | None, client_order_id: str | None = None,
                client_id: str | None = None) -> list[Order]: ...
    def retry(self, order: Order, to_status: Status, detail: dict[str, Any]) -> bool:
        """Conditionally (status and seq as read) start the order over; False when it changed meanwhile."""
    def count_by_status(self, client_id: str | None = None) -> dict[str, int]: ...
    def ping(self) -> None: ...


class StepWriter(Protocol):
    """One step taken outside the executor (a cancel), written as the executor writes its own."""

    def write(self, transition: Transition) -> bool:
        """Store the step if the order is still as it was read (status and seq); False when it moved meanwhile."""


class StepPublisher(Protocol):
    def publish(self, order: Order, event: OrderEvent) -> None:
        """After the durable store has the step: the live state, the event log and the subscribers, best effort."""
class KeyStore(Protocol):
    """The API keys (PostgreSQL), by hash."""

    def find(self, hashed: str) -> KeyRecord | None: ...


class Buckets(Protocol):
    """Per-client submit token buckets (Redis)."""

    def take(self, client_id: str, rate_per_s: float, burst: int) -> int:
        """0: a token was taken; else the milliseconds until one is there."""


class Intake(Protocol):
    """The submit side of the work queue (Redis)."""

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool:
        """Queue the order; True when an executor must be woken."""

    def hold(self, order_id: str, trigger: Trigger, expires_ms: int, frames: list[dict[str, Any]]) -> bool:
        """Put a waiting order in its trigger's book (not on the queue), start its live event log; True when an
        executor must be woken to watch it."""

    def counts(self) -> dict[str, int]:
        """ready, inFlight, delayed, deadLettered, peakInFlight."""

    def ping(self) -> None: ...


class WaitingRelease(Protocol):
    def release(self, order_id: str) -> bool:
        """Take a waiting order out of its trigger's book (it was cancelled); True when it was there."""


class OperatorQueue(Protocol):
    """What an operator sees and does on the work queue (Redis)."""

    def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        """The newest entries first: {entry, orderId (or None), reason, at}."""

    def is_dead_lettered(self, order_id: str) -> bool: ...
    def revive(self, order_id: str) -> bool:
        """Take a dead-lettered order off the dead letters and queue it again; False when it is not dead-lettered."""

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool: ...


class QuoteBook(Protocol):
    """Issued quotes by id (Redis), kept a while past their validity."""

    def put(self, quote_id: str, record: dict[str, Any], valid_ms: int) -> None: ...
    def get(self, quote_id: str) -> dict[str, Any] | None: ...


class Waker(Protocol):
    def wake(self, reason: str, slot: str | None = None, source: str = "order-engine.submit") -> bool:
        """Start an executor asynchronously (best effort); `slot` names its start slot in the queue."""


# -- execute --------------------------------------------------------------------------------------------------


class WorkQueue(Protocol):
    """The executor's side of the queue: leases, retries waiting out their backoff, dead letters."""

    owner: str

    async def claim(self, n: int) -> Claimed: ...
    async def wait_claim(self, timeout_s: float) -> Claimed: ...
    async def renew(self, ids: Iterable[str]) -> list[str]: ...
    async def settle(self, actions: list[tuple[str, str, int]]) -> int: ...
    async def holds(self, ids: list[str]) -> list[bool]: ...
    async def dead_letter(self, entry: str, reason: str, order_id: str | None = None) -> None: ...
    async def promote_due(self, limit: int = 1000) -> Promoted: ...
    async def recover_expired(self) -> Recovered: ...
    async def snapshot(self) -> Snapshot: ...
    async def requeue(self, ids: list[str]) -> None: ...
    async def has_waiting(self) -> bool:
        """Whether any order is ready, waiting out a backoff, in flight anywhere, or waiting for its trigger
        (one atomic read)."""

    async def depth(self) -> dict[str, int]:
        """ready, delayed, inFlight and deadLettered, read at once (the metrics' queue gauges)."""


class ExecutorFleet(Protocol):
    """The executors as a group (Redis): which are alive, which to start, whose turn a shared chore is."""

    async def take_turn(self, chore: str, interval_ms: int) -> bool:
        """True for the one executor that runs the periodic `chore` ('sweep', 'reconcile' or 'watch') this interval."""

    async def beat(self, ttl_ms: int, slot: str | None = None) -> None: ...
    async def leave(self) -> None: ...
    async def missing_executors(self, per_executor: int, max_instances: int, min_with_work: int,
                                start_grace_ms: int) -> list[str]:
        """Start slots reserved for the executors the queue needs beyond the live ones."""

    async def state_lost(self) -> bool:
        """Whether Redis lost its data since an executor last looked (FLUSHALL, a restart without it)."""


class OrderReader(Protocol):
    """What the executor reads from the durable store."""

    async def load(self, ids: Sequence[str]) -> dict[str, Order]: ...
    async def last_sent(self, order_id: str) -> dict[str, Any]:
        """The detail of the order's latest building/submitted event."""

    async def unfinished(self, grace_ms: int) -> list[str]:
        """Orders in a QUEUED status (unfinished and not held by a trigger's watcher) unmoved for `grace_ms`."""


class WaitingBook(Protocol):
    """The waiting orders' trigger books and expiry (Redis), as the watcher works them."""

    async def take_reached(self, kind: str, key: str, level: float, limit: int) -> list[str]:
        """Take out (at most `limit`) orders of book (kind, key) whose trigger score is at most `level`."""

    async def take_expired(self, now_ms: int, limit: int) -> list[str]:
        """Take out (at most `limit`) orders whose expiry is at or before `now_ms`."""

    async def count(self) -> int: ...
    async def restore(self, entries: Iterable[tuple[str, Trigger, int]]) -> int:
        """Put (order id, trigger, expiry ms) entries back (idempotent)."""


class WaitingOrders(Protocol):
    """The waiting orders PostgreSQL holds (the source the books are rebuilt from)."""

    async def entries(self) -> list[tuple[str, Trigger, int]]: ...
    async def settled_count(self, grace_ms: int) -> int:
        """Waiting orders created more than `grace_ms` ago (their submit has had time to fill the book)."""


class TransitionWriter(Protocol):
    async def write(self, batch: Sequence[Transition]) -> list[bool]:
        """Store each transition whose order is still as it was seen; True for those stored."""


class LiveState(Protocol):
    async def record(self, steps: Iterable[tuple[Order, OrderEvent]]) -> dict[str, set[str]] | None:
        """Mirror the stored steps; may return each order's WebSocket subscribers, read in the same atomic
        write right after its events were appended (so the notifier need not look them up)."""


class Notifier(Protocol):
    async def publish(self, order_id: str, message: dict[str, Any], subscribers: set[str] | None = None) -> None:
        """Deliver one event frame (`OrderEvent.to_message()`) to the order's subscribers (`subscribers` when
        the caller read them after the event was stored, else looked up). Never raises for a subscriber's
        failure and never blocks the caller beyond a small bounded time."""

    async def close(self) -> None: ...


class Dex(Protocol):
    """The venues and the chain the executor trades on."""

    async def route(self, input_mint: str, output_mint: str, amount_in: int) -> Route: ...
    async def build(self, order_id: str, route: Route, slippage_bps: int, min_amount_out: int | None = None) -> BuiltSwap:
        """Sign the swap; its least output is `min_amount_out` when given (a limit's), else the quote less slippage."""
    async def submit(self, built: BuiltSwap) -> str:
        """Send the transaction; returns its signature (base58, 87-88 chars). Record it before confirming."""

    async def confirm(self, signature: str) -> SwapResult:
        """Wait for commitment `confirmed`; a swap that landed but failed (slippage) raises SlippageExceeded."""

    async def signature_status(self, signature: str) -> SwapResult: ...

    async def price_levels(self) -> dict[str, float]:
        """Per direction of every pair (`triggers.price_book(in, out)`), the best price any venue offers now:
        whole tokenOut per whole tokenIn, before fees. One read of each pair."""

    async def listing_levels(self) -> dict[str, float]:
        """Per direction of every listed pair whose pools exist now (`triggers.price_book(quote, token)`), its
        listing slot: what the sniper orders waiting on that pair fire on."""


# -- subscribe ------------------------------------------------------------------------------------------------


class Registry(Protocol):
    def register(self, connection_id: str, connected_at_ms: int, now_ms: int, reader: str = EVERY_CLIENT) -> None:
        """`reader`: the client id the connection was admitted as, or EVERY_CLIENT; `state` returns it."""
    def seen(self, connection_id: str, connected_at_ms: int, now_ms: int) -> bool: ...
    def mark_open(self, connection_id: str) -> None: ...
    def state(self, connection_id: str) -> ConnectionState | None: ...
    def subscribe(self, connection_id: str, order_id: str, connected_at_ms: int, now_ms: int) -> bool:
        """Subscribe, replaying: the order's new frames are held for the connection until `release_held`."""
    def release_held(self, connection_id: str, order_id: str) -> list[dict[str, Any]]:
        """The frames held since the last call; [] once none were, and the subscription is then live."""
    def unsubscribe(self, connection_id: str, order_id: str) -> bool: ...
    def remove(self, connection_id: str) -> None: ...


class Poster(Protocol):
    def post(self, connection_id: str, frame: dict[str, Any]) -> PostResult: ...
    def post_many(self, connection_id: str, frames: Sequence[dict[str, Any]]) -> list[PostResult]:
        """Post in order; the results of the frames sent, which stop after a GONE."""


class EventLog(Protocol):
    def frames(self, order_id: str) -> list[dict[str, Any]]: ...


class EventHistory(Protocol):
    def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]: ...
    def owner(self, order_id: str) -> str | None:
        """The client that submitted the order ('' when access control was off), None for an unknown order."""


class ReplayStarter(Protocol):
    def start(self, connection_id: str, order_id: str) -> None: ...


class ListingBook(Protocol):
    """The simulated market's listings (one per pair, never changed)."""

    def create(self, listing: Listing) -> tuple[Listing, bool]: ...  # (the pair's listing, created by this call)
    def for_pair(self, token: Token, quote: Token) -> Listing | None: ...
    def all(self) -> list[Listing]: ...
