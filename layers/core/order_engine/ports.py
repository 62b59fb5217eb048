"""The ports: what the use cases in `services/` need from the world outside them, as protocols, and the values
that cross them. Adapters (`store/`, `dex/`) implement them structurally; `bootstrap` plugs them in; tests plug in
fakes. Every adapter translates its own failures into `DependencyUnavailable`, so a use case handles one error.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Protocol, Sequence

from order_engine.domain.lifecycle import Status
from order_engine.domain.orders import HistoryPosition, Order, OrderEvent, OrderRequest
from order_engine.domain.swaps import BuiltSwap, Route, SwapResult
from order_engine.domain.transition import Transition

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


class PostResult(Enum):
    DELIVERED = "delivered"
    GONE = "gone"  # 410: the connection is closed, or its $connect has not returned yet
    FAILED = "failed"  # anything else, after the retries


# -- submit and read ------------------------------------------------------------------------------------------


class OrderStore(Protocol):
    """The durable orders and their timelines (PostgreSQL)."""

    def insert(self, order_id: str, request: OrderRequest, idempotency_key: str | None) -> Inserted: ...
    def get(self, order_id: str) -> Order | None: ...
    def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]: ...
    def history(self, limit: int, after: HistoryPosition | None, status: Status | None,
                mint: str | None, client_order_id: str | None = None) -> list[Order]: ...
    def retry(self, order: Order, to_status: Status, detail: dict[str, Any]) -> bool:
        """Conditionally (status and seq as read) start the order over; False when it changed meanwhile."""
    def count_by_status(self) -> dict[str, int]: ...
    def ping(self) -> None: ...


class Intake(Protocol):
    """The submit side of the work queue (Redis)."""

    def enqueue(self, order_id: str, first_frame: dict[str, Any]) -> bool:
        """Queue the order; True when an executor must be woken."""

    def counts(self) -> dict[str, int]:
        """ready, inFlight, delayed, deadLettered, peakInFlight."""

    def ping(self) -> None: ...


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
    """The executor's side of the queue: leases, retries waiting out their backoff, dead letters, chores."""

    owner: str

    async def claim(self, n: int) -> Claimed: ...
    async def wait_claim(self, timeout_s: float) -> Claimed: ...
    async def renew(self, ids: Iterable[str]) -> list[str]: ...
    async def settle(self, actions: list[tuple[str, str, int]]) -> int: ...
    async def holds(self, ids: list[str]) -> list[bool]: ...
    async def dead_letter(self, entry: str, reason: str, order_id: str | None = None) -> None: ...
    async def promote_due(self, limit: int = 1000) -> int: ...
    async def recover_expired(self) -> Recovered: ...
    async def snapshot(self) -> Snapshot: ...
    async def requeue(self, ids: list[str]) -> None: ...
    async def has_waiting(self) -> bool:
        """Whether any order is ready, waiting out a backoff, or in flight anywhere (one atomic read)."""

    async def take_turn(self, chore: str, interval_ms: int) -> bool:
        """True for the one executor that runs the periodic `chore` ('sweep' or 'reconcile') this interval."""

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

    async def unfinished(self, grace_ms: int) -> list[str]: ...


class TransitionWriter(Protocol):
    async def write(self, batch: Sequence[Transition]) -> list[bool]:
        """Store each transition whose order is still as it was seen; True for those stored."""


class LiveState(Protocol):
    async def record(self, steps: Iterable[tuple[Order, OrderEvent]]) -> None: ...


class Notifier(Protocol):
    async def publish(self, order_id: str, message: dict[str, Any]) -> None:
        """Deliver one event frame (`OrderEvent.to_message()`) to the order's subscribers. Never raises for a
        subscriber's failure and never blocks the caller beyond a small bounded time."""

    async def close(self) -> None: ...


class Dex(Protocol):
    """The venues and the chain the executor trades on."""

    async def route(self, input_mint: str, output_mint: str, amount_in: int) -> Route: ...
    async def build(self, order_id: str, route: Route, slippage_bps: int) -> BuiltSwap: ...
    async def submit(self, built: BuiltSwap) -> str:
        """Send the transaction; returns its signature (base58, 87-88 chars). Record it before confirming."""

    async def confirm(self, signature: str) -> SwapResult:
        """Wait for commitment `confirmed`; a swap that landed but failed (slippage) raises SlippageExceeded."""

    async def signature_status(self, signature: str) -> SwapResult: ...


# -- subscribe ------------------------------------------------------------------------------------------------


class Registry(Protocol):
    def register(self, connection_id: str, connected_at_ms: int, now_ms: int) -> None: ...
    def seen(self, connection_id: str, connected_at_ms: int, now_ms: int) -> bool: ...
    def mark_open(self, connection_id: str) -> None: ...
    def state(self, connection_id: str) -> ConnectionState | None: ...
    def subscribe(self, connection_id: str, order_id: str, connected_at_ms: int, now_ms: int) -> bool: ...
    def unsubscribe(self, connection_id: str, order_id: str) -> bool: ...
    def remove(self, connection_id: str) -> None: ...


class Poster(Protocol):
    def post(self, connection_id: str, frame: dict[str, Any]) -> PostResult: ...


class EventLog(Protocol):
    def frames(self, order_id: str) -> list[dict[str, Any]]: ...


class EventHistory(Protocol):
    def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]: ...


class ReplayStarter(Protocol):
    def start(self, connection_id: str, order_id: str) -> None: ...
