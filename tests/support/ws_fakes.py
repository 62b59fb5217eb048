"""In-memory stand-ins for the subscription service's adapters (registry, management API, event sources)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from order_engine.config import Settings
from order_engine.domain.api_keys import EVERY_CLIENT
from order_engine.domain.lifecycle import Status
from order_engine.domain.order import OrderEvent
from order_engine.services.subscribe import SubscriptionService
from order_engine.ports import ConnectionState, PostResult

ORDER_ID = "3f0c7d9e-0a8b-4c1d-9e2f-5a6b7c8d9e0f"
STATUSES = ("pending", "routing", "building", "submitted", "confirmed")


def frame(seq: int, order_id: str = ORDER_ID) -> dict[str, Any]:
    return {"type": "status", "orderId": order_id, "status": STATUSES[seq - 1], "seq": seq}


class FakeRegistry:
    def __init__(self) -> None:
        self.connections: dict[str, ConnectionState] = {}
        self.subscriptions: dict[str, set[str]] = {}
        self.replaying: set[tuple[str, str]] = set()  # (connection, order) whose replay is being sent
        self.held: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def register(self, connection_id, connected_at_ms, now_ms, reader=EVERY_CLIENT):
        self.connections[connection_id] = ConnectionState(connected_at_ms, False, reader)

    def seen(self, connection_id, connected_at_ms, now_ms):
        """A message: the connection is open (a message handled after its $disconnect brings nothing back)."""
        state = self.connections.get(connection_id)
        if state is None:
            return False
        self.connections[connection_id] = ConnectionState(connected_at_ms, True, state.reader)
        return True

    def mark_open(self, connection_id):
        state = self.connections.get(connection_id)
        if state is not None:
            self.connections[connection_id] = ConnectionState(state.connected_at_ms, True, state.reader)

    def state(self, connection_id):
        return self.connections.get(connection_id)

    def subscribe(self, connection_id, order_id, connected_at_ms, now_ms):
        self.subscriptions.setdefault(order_id, set()).add(connection_id)
        self.replaying.add((connection_id, order_id))
        self.held.pop((connection_id, order_id), None)

    def record(self, order_id, frame):
        """What the executor's live-state write does: hold the frame for a replaying subscriber; the live ones
        to post it to."""
        live = set()
        for connection_id in self.subscriptions.get(order_id, set()):
            if (connection_id, order_id) in self.replaying:
                self.held.setdefault((connection_id, order_id), []).append(frame)
            else:
                live.add(connection_id)
        return live

    def release_held(self, connection_id, order_id):
        held = self.held.pop((connection_id, order_id), [])
        if not held:
            self.replaying.discard((connection_id, order_id))
        return held

    def unsubscribe(self, connection_id, order_id):
        watching = self.subscriptions.get(order_id, set())
        was = connection_id in watching
        watching.discard(connection_id)
        return was

    def remove(self, connection_id):
        self.connections.pop(connection_id, None)
        for watching in self.subscriptions.values():
            watching.discard(connection_id)

    def subscribers(self, order_id):
        return set(self.subscriptions.get(order_id, set()))


class FakePoster:
    """Records what each connection was sent; `results` scripts the answers (DELIVERED once it runs out)."""

    def __init__(self, results: list[PostResult] | None = None, on_post=None):
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.results = list(results or [])
        self.on_post = on_post

    def post(self, connection_id, frame):
        result = self.results.pop(0) if self.results else PostResult.DELIVERED
        if self.on_post is not None:
            self.on_post(connection_id, frame, result)
        if result is PostResult.DELIVERED:
            self.sent.setdefault(connection_id, []).append(frame)
        return result

    def post_many(self, connection_id, frames):
        results = []
        for frame in frames:
            results.append(self.post(connection_id, frame))
            if results[-1] is PostResult.GONE:
                break
        return results


class FakeLog:
    def __init__(self, frames: dict[str, list[dict[str, Any]]] | None = None):
        self.by_order = frames or {}

    def frames(self, order_id):
        return list(self.by_order.get(order_id, []))


class FakeHistory:
    def __init__(self, counts: dict[str, int] | None = None):
        self.counts = counts or {}

    def events(self, order_id, after_seq=0):
        at = datetime(2026, 11, 22, tzinfo=timezone.utc)
        return [OrderEvent(order_id, seq, Status(STATUSES[seq - 1]), 0, at, {"from": "postgresql"})
                for seq in range(after_seq + 1, self.counts.get(order_id, 0) + 1)]


class FakeReplays:
    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []

    def start(self, connection_id, order_id):
        self.started.append((connection_id, order_id))


def service(log=None, history=None, poster=None, registry=None, sleeps=None) -> SubscriptionService:
    sleeps = sleeps if sleeps is not None else []
    return SubscriptionService(
        Settings(), registry or FakeRegistry(), poster or FakePoster(), log or FakeLog(), history or FakeHistory(),
        FakeReplays(), clock=lambda: 1_000.0, sleep=sleeps.append,
    )
