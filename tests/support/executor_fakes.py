"""In-memory stand-ins for the ports the submit and execute use cases take (order store, queue, live state,
notifier, venues), so the core state machine runs in milliseconds. They keep the rules the real adapters keep:
a transition is stored only if the order is still as it was seen (status and seq), a lease belongs to one owner,
settling applies ack / delay / release."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from order_engine.domain.lifecycle import QUEUED, Status
from order_engine.domain.order import HistoryPosition, Order, OrderEvent, OrderRequest, pending_detail
from order_engine.domain.swaps import BuiltSwap, Quote, Route, RouteLeg, SignatureState, SwapResult
from order_engine.domain.tokens import lookup
from order_engine.domain.transition import Transition
from order_engine.errors import DependencyUnavailable
from order_engine.ports import Claimed, Inserted, Promoted, Recovered, Snapshot

SOL, USDC = lookup("SOL"), lookup("USDC")


def now_ms() -> int:
    return int(time.time() * 1000)


def new_order(order_id: str = "00000000-0000-4000-8000-000000000001", **fields: Any) -> Order:
    at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    base = dict(id=order_id, status=Status.PENDING, token_in_mint=SOL.mint, token_out_mint=USDC.mint,
                amount_in=10**9, slippage_bps=50, order_type="market", attempts=0, seq=1, created_at=at, updated_at=at)
    return Order(**{**base, **fields})


class InMemoryOrders:
    """The order store (submit, reads), the executor's reader and its transition writer, in one dict."""

    def __init__(self, *orders: Order) -> None:
        self.orders: dict[str, Order] = {o.id: o for o in orders}
        self.timeline: dict[str, list[OrderEvent]] = {o.id: [] for o in orders}
        self._keys: dict[tuple[str, str], tuple[str, str]] = {}  # (client, idempotency key) -> (order id, fingerprint)
        self.owners: dict[str, str] = {o.id: "" for o in orders}  # order id -> the client that submitted it
        self.down = False
        self.refuse_writes = False

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("postgresql")

    # OrderStore
    def insert(self, order_id: str, request: OrderRequest, idempotency_key: str | None, trigger: object = None,
               correlation_id: str | None = None, client_id: str = "") -> Inserted:
        self._check()
        if idempotency_key is not None and (client_id, idempotency_key) in self._keys:
            existing, fingerprint = self._keys[(client_id, idempotency_key)]
            return Inserted(self.orders[existing], False, fingerprint == request.fingerprint())
        order = new_order(order_id, token_in_mint=request.token_in.mint, token_out_mint=request.token_out.mint,
                          amount_in=request.amount_in, slippage_bps=request.slippage_bps,
                          client_order_id=request.client_order_id, correlation_id=correlation_id,
                          dynamic_slippage=request.dynamic_slippage,
                          quote=None if request.quote is None else request.quote.to_record())
        self.orders[order_id] = order
        self.owners[order_id] = client_id
        self.timeline[order_id] = [OrderEvent(order_id, 1, Status.PENDING, 0, order.created_at, pending_detail(request))]
        if idempotency_key is not None:
            self._keys[(client_id, idempotency_key)] = (order_id, request.fingerprint())
        return Inserted(order, True, True)

    def get(self, order_id: str, client_id: str | None = None) -> Order | None:
        self._check()
        if client_id is not None and self.owners.get(order_id) != client_id:
            return None
        return self.orders.get(order_id)

    def owner(self, order_id: str) -> str | None:
        return self.owners.get(order_id)

    def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        return [e for e in self.timeline.get(order_id, []) if e.seq > after_seq]

    def history(self, limit: int, after: HistoryPosition | None, status: Status | None, mint: str | None,
                client_order_id: str | None = None, client_id: str | None = None) -> list[Order]:
        mine = [o for o in self.orders.values() if client_id is None or self.owners.get(o.id) == client_id]
        return sorted(mine, key=lambda o: (o.created_at, o.id), reverse=True)[:limit]

    def count_by_status(self, client_id: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for order in self.orders.values():
            if client_id is not None and self.owners.get(order.id) != client_id:
                continue
            counts[str(order.status)] = counts.get(str(order.status), 0) + 1
        return counts

    def ping(self) -> None:
        self._check()

    # OrderReader
    async def load(self, ids: Sequence[str]) -> dict[str, Order]:
        self._check()
        return {i: self.orders[i] for i in ids if i in self.orders}

    async def last_sent(self, order_id: str) -> dict[str, Any]:
        """The detail of the latest building event (the signed transaction), as PgOrderReader reads it."""
        built = [e for e in self.timeline[order_id] if e.status is Status.BUILDING]
        return dict(built[-1].detail) if built else {}

    async def unfinished(self, grace_ms: int) -> list[str]:
        return [i for i, o in self.orders.items() if o.status in QUEUED]

    # TransitionWriter
    async def write(self, batch: Sequence[Transition]) -> list[bool]:
        self._check()
        stored = []
        for t in batch:
            current = self.orders[t.order.id]
            ok = not self.refuse_writes and (current.status, current.seq) == (t.order.status, t.order.seq)
            if ok:
                after = t.after()
                self.orders[after.id] = after
                self.timeline[after.id].append(t.event(after))
            stored.append(ok)
        return stored

    def statuses(self, order_id: str) -> list[str]:
        return [str(e.status) for e in self.timeline[order_id]]


class FakeLiveState:
    def __init__(self) -> None:
        self.steps: list[tuple[Order, OrderEvent]] = []
        self.down = False

    async def record(self, steps: Iterable[tuple[Order, OrderEvent]]) -> None:
        if self.down:
            raise DependencyUnavailable("redis")
        self.steps.extend(steps)


class RecordingNotifier:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def publish(self, order_id: str, message: dict[str, Any], subscribers: set[str] | None = None) -> None:
        self.frames.append(message)

    async def close(self) -> None:
        return None


class ScriptedDex:
    """Venues and a chain whose answers a test sets: a route of one venue, a signature per build, and for each
    step either the normal answer or an exception to raise (a list is consumed one attempt at a time)."""

    def __init__(self, amount_out: int = 150_000_000, venue: str = "raydium") -> None:
        self.amount_out, self.venue = amount_out, venue
        self.failures: dict[str, list[BaseException | None]] = {}
        self.confirmations: list[SwapResult | None] = []
        self.chain: dict[str, SwapResult] = {}  # signature -> what the chain knows
        self.calls: list[str] = []
        self.sent: list[str] = []
        self._builds = 0

    def fail(self, step: str, *outcomes: BaseException | None) -> None:
        self.failures.setdefault(step, []).extend(outcomes)

    def _maybe_fail(self, step: str) -> None:
        self.calls.append(step)
        queue = self.failures.get(step)
        if queue:
            outcome = queue.pop(0)
            if outcome is not None:
                raise outcome

    async def route(self, input_mint: str, output_mint: str, amount_in: int) -> Route:
        self._maybe_fail("route")
        quote = Quote(self.venue, amount_in, self.amount_out, amount_in // 400, 3)
        return Route(input_mint, output_mint, amount_in, (RouteLeg(self.venue, amount_in, self.amount_out),),
                     (quote,), f"{self.venue} gives the most")

    async def build(self, order_id: str, route: Route, slippage_bps: int, min_amount_out: int | None = None) -> BuiltSwap:
        self._maybe_fail("build")
        self._builds += 1
        least = route.amount_out * (10_000 - slippage_bps) // 10_000 if min_amount_out is None else min_amount_out
        return BuiltSwap(order_id, route, least,
                         ("wrap_sol", f"swap:{self.venue}"), 5_000, f"blockhash{self._builds}", now_ms() + 60_000,
                         signature=f"sig-{order_id[-4:]}-{self._builds}")

    async def submit(self, built: BuiltSwap) -> str:
        self._maybe_fail("submit")
        assert built.signature is not None
        self.sent.append(built.signature)
        self.chain[built.signature] = SwapResult(built.signature, SignatureState.PENDING)
        return built.signature

    async def confirm(self, signature: str) -> SwapResult:
        self._maybe_fail("confirm")
        result = SwapResult(signature, SignatureState.CONFIRMED, self.amount_out, "150.0")
        self.chain[signature] = result
        return result

    async def signature_status(self, signature: str) -> SwapResult:
        self._maybe_fail("signature_status")
        return self.chain.get(signature, SwapResult(signature, SignatureState.UNKNOWN))

    async def close(self) -> None:
        return None


class InMemoryQueue:
    """The work queue with the real one's rules: ready list, leases per owner, delayed retries, dead letters; and
    the executor fleet (heartbeats, start slots, chore turns), which counts the queue's work."""

    def __init__(self, owner: str = "executor-test", lease_ms: int = 5_000, max_in_flight: int = 1_000) -> None:
        self.owner, self.lease_ms, self.max_in_flight = owner, lease_ms, max_in_flight
        self.ready: list[str] = []
        self.leases: dict[str, tuple[str, int]] = {}  # id -> (owner, expiry ms)
        self.delayed: dict[str, int] = {}
        self.dead: list[dict[str, Any]] = []
        self.settled: list[tuple[str, str, int]] = []
        self.heartbeats = 0
        self.live: dict[str, int] = {}  # executor or start slot -> heartbeat expiry (ms)
        self.flushed = False  # set by a test: Redis lost its data since the last look
        self._arrived = asyncio.Event()

    def push(self, *ids: str) -> None:
        """What submit does: at the back of the line."""
        self.ready.extend(ids)
        self._arrived.set()

    def _return(self, *ids: str) -> None:
        """An order handed back (released, its backoff over, its lease expired, requeued): at the front of the line,
        the last one first, as the real queue's RPUSH onto the end it claims from."""
        self.ready[:0] = reversed(ids)
        self._arrived.set()

    def _lease(self, order_id: str) -> bool:
        holder = self.leases.get(order_id)
        if holder and holder[1] > now_ms() or order_id in self.delayed:
            return False  # a duplicate of an order in flight or waiting out its backoff
        self.leases[order_id] = (self.owner, now_ms() + self.lease_ms)
        return True

    async def claim(self, n: int) -> Claimed:
        room = min(n, self.max_in_flight - len(self.leases))
        ids, dropped = [], 0
        while self.ready and len(ids) < room:
            order_id = self.ready.pop(0)
            if self._lease(order_id):
                ids.append(order_id)
            else:
                dropped += 1
        return Claimed(ids, len(self.leases), dropped)

    async def wait_claim(self, timeout_s: float) -> Claimed:
        self._arrived.clear()
        if not self.ready:
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
            except TimeoutError:
                return Claimed([], len(self.leases), 0)
        return await self.claim(1)

    async def renew(self, ids: Iterable[str]) -> list[str]:
        lost = []
        for order_id in ids:
            if order_id not in self.leases or self.leases[order_id][0] == self.owner:  # unheld: taken back
                self.leases[order_id] = (self.owner, now_ms() + self.lease_ms)
            else:
                lost.append(order_id)
        return lost

    async def settle(self, actions: list[tuple[str, str, int]]) -> int:
        for order_id, action, due_ms in actions:
            self.settled.append((order_id, action, due_ms))
            if self.leases.get(order_id, ("",))[0] != self.owner:
                continue
            del self.leases[order_id]
            if action == "delay":
                self.delayed[order_id] = due_ms
            elif action == "release":
                self._return(order_id)
        return len(actions)

    async def holds(self, ids: list[str]) -> list[bool]:
        lost = set(await self.renew(ids))
        return [i not in lost for i in ids]

    async def dead_letter(self, entry: str, reason: str, order_id: str | None = None) -> None:
        if self.leases.get(order_id or entry, ("",))[0] == self.owner:
            del self.leases[order_id or entry]
        self.dead.append({"entry": entry, "orderId": order_id, "reason": reason})

    async def promote_due(self, limit: int = 1000) -> Promoted:
        due = [i for i, at in self.delayed.items() if at <= now_ms()][:limit]
        for order_id in due:
            del self.delayed[order_id]
        if due:
            self._return(*due)
        return Promoted(len(due), min(self.delayed.values(), default=None))

    async def recover_expired(self) -> Recovered:
        expired = [i for i, (_, until) in self.leases.items() if until <= now_ms()]
        for order_id in expired:
            del self.leases[order_id]
        if expired:
            self._return(*expired)
        return Recovered(len(expired), 0, 0)

    async def snapshot(self) -> Snapshot:
        return Snapshot({*self.ready, *self.leases, *self.delayed}, {d["orderId"] for d in self.dead})

    async def requeue(self, ids: list[str]) -> None:
        self._return(*ids)

    async def has_waiting(self) -> bool:
        return bool(self.ready or self.delayed or self.leases)

    async def take_turn(self, chore: str, interval_ms: int) -> bool:
        return True

    async def beat(self, ttl_ms: int, slot: str | None = None) -> None:
        self.heartbeats += 1
        self.live[self.owner] = now_ms() + ttl_ms
        self.live.pop(slot or "", None)

    async def leave(self) -> None:
        self.live.pop(self.owner, None)

    async def missing_executors(self, per_executor: int, max_instances: int, min_with_work: int,
                                start_grace_ms: int) -> list[str]:
        self.live = {who: until for who, until in self.live.items() if until > now_ms()}
        work = len(self.ready) + len(self.leases) + len(self.delayed)
        if not work:
            return []
        need = min(max_instances, max(min_with_work, -(-work // max(1, per_executor))))
        slots = [f"start:{i}:{now_ms()}" for i in range(len(self.live) + 1, need + 1)]
        self.live.update({slot: now_ms() + start_grace_ms for slot in slots})
        return slots

    async def state_lost(self) -> bool:
        lost, self.flushed = self.flushed, False
        return lost


def deadline(seconds: float) -> Callable[[], int]:
    end = time.monotonic() + seconds
    return lambda: int((end - time.monotonic()) * 1000)
