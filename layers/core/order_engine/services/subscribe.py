"""Live order updates over the WebSocket API: what each route does, and the replay that makes a late subscriber
miss nothing.

Replay without gaps, in order, without duplicates: a subscription is registered (replaying) before the order's
events are read, so an event stored after it is held back for the subscriber and one stored before is in the
replay. Once the replay is sent, the held frames newer than it follow, until none are held: only then does the
subscription go live and the executor post to it, so no live frame overtakes the replay (adapters/redis/ws_registry.py).
Events come from the order's live log in Redis while it holds them from seq 1, else from PostgreSQL (the source
of truth), plus any newer frames Redis has.

`$connect` cannot post to its own connection: API Gateway answers 410 until `$connect` returns. So `$connect` only
checks that a `?orderId=` order exists, and the subscription and its replay run in another invocation (`replay`),
which first posts the `subscribed` acknowledgement until the connection accepts it, then registers the subscription,
reads and sends the history. Subscribing only then keeps live events from reaching the client before its history
does (when replays queue up behind many connects, live frames would otherwise overtake them by seconds).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from order_engine.config import Settings
from order_engine.domain.api_keys import EVERY_CLIENT
from order_engine.errors import EngineError, ErrorCode
from order_engine.ports import EventHistory, EventLog, Poster, PostResult, Registry, ReplayStarter
from order_engine.services.order_reads import parse_order_id

logger = logging.getLogger(__name__)

ACTIONS = ("subscribe", "subscribeOrder", "unsubscribe", "ping")
REPLAY_FIRST_DELAY_S = 0.02
REPLAY_MAX_DELAY_S = 0.2


@dataclass(frozen=True)
class Connection:
    """The connection a route was invoked for, as API Gateway's requestContext describes it."""

    id: str
    connected_at_ms: int


def error_frame(exc: EngineError) -> dict[str, Any]:
    frame = {"type": "error", "code": str(exc.code), "message": exc.message}
    if exc.details:
        frame["details"] = exc.details
    return frame


def unknown_action(action: Any) -> EngineError:
    known = ", ".join(ACTIONS)
    if action is None:
        message = f"The message has no action; send a JSON object with an action, one of: {known}."
    else:
        message = f"Unknown action {str(action)[:64]!r}; the actions are: {known}."
    return EngineError(message, [{"field": "action", "rule": "known_action", "message": message}],
                       code=ErrorCode.UNKNOWN_ACTION)


def order_not_found(order_id: str) -> EngineError:
    return EngineError(f"No order has id {order_id}.", code=ErrorCode.ORDER_NOT_FOUND)


def _contiguous_from_one(frames: list[dict[str, Any]]) -> bool:
    return bool(frames) and all(frame.get("seq") == i for i, frame in enumerate(frames, start=1))


class SubscriptionService:
    """The WebSocket routes' use cases: connect, subscribe, unsubscribe, ping, reply with errors, disconnect, and
    the replay of an order's events to a new subscriber."""

    def __init__(self, settings: Settings, registry: Registry, poster: Poster, log: EventLog,
                 history: EventHistory, replays: ReplayStarter,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.settings, self.registry, self.poster = settings, registry, poster
        self.log, self.history, self.replays = log, history, replays
        self.clock, self.sleep = clock, sleep

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # $connect / $disconnect
    # reader: whom the connection reads as, from the $connect authorizer's context: a client id (it may follow only
    # its own orders, and another client's order is refused as an unknown one) or EVERY_CLIENT (an operator key).
    # None: the event carries no authorizer context; at $connect that is access control off (every client), on a
    # message the reader $connect registered (chalice's message events carry no context, API Gateway's do).
    def connect(self, conn: Connection, order_id: str | None, reader: str | None = None) -> None:
        """Register the connection; with an order id, subscribe and start its replay. Raises EngineError (the
        handshake is then refused with its status)."""
        reader = reader or EVERY_CLIENT
        order_id = None if order_id is None else parse_order_id(order_id)
        now = self._now_ms()
        if order_id is not None and (not self._visible(order_id, reader) or not self.events_so_far(order_id)):
            raise order_not_found(order_id)
        self.registry.register(conn.id, conn.connected_at_ms, now, reader)
        if order_id is not None:
            self.replays.start(conn.id, order_id)

    def disconnect(self, connection_id: str) -> None:
        self.registry.remove(connection_id)

    # messages
    def subscribe(self, conn: Connection, order_id: Any, reader: str | None = None) -> None:
        self._seen(conn)
        order_id = parse_order_id(order_id)
        if not self._visible(order_id, reader or self._registered_reader(conn.id)):
            raise order_not_found(order_id)
        self.registry.subscribe(conn.id, order_id, conn.connected_at_ms, self._now_ms())
        frames = self.events_so_far(order_id)
        if not frames:
            self.registry.unsubscribe(conn.id, order_id)
            raise order_not_found(order_id)
        if self._send(conn.id, [{"type": "subscribed", "orderId": order_id}, *frames]):
            self._go_live(conn.id, order_id, frames[-1]["seq"])

    def _registered_reader(self, connection_id: str) -> str | None:
        state = self.registry.state(connection_id)
        return None if state is None else state.reader

    def _visible(self, order_id: str, reader: str | None) -> bool:
        if reader is None:  # not known whom the connection reads as (it is gone, or predates the record): nothing
            return False
        return reader == EVERY_CLIENT or self.history.owner(order_id) == reader

    def unsubscribe(self, conn: Connection, order_id: Any) -> None:
        self._seen(conn)
        order_id = parse_order_id(order_id)
        self.registry.unsubscribe(conn.id, order_id)
        self._send(conn.id, [{"type": "unsubscribed", "orderId": order_id}])

    def ping(self, conn: Connection) -> None:
        self._seen(conn)
        self._send(conn.id, [{"type": "pong"}])

    def reply_error(self, conn: Connection, exc: EngineError) -> None:
        """Answer a message the connection sent with an error frame; the connection stays open."""
        try:
            self._seen(conn)
        except EngineError:
            pass  # the registry being down must not keep the client from hearing about its error
        self._send(conn.id, [error_frame(exc)])

    def _seen(self, conn: Connection) -> None:
        self.registry.seen(conn.id, conn.connected_at_ms, self._now_ms())

    def _send(self, connection_id: str, frames: Sequence[dict[str, Any]]) -> bool:
        """False (and the connection forgotten) when it turned out to be gone."""
        if PostResult.GONE in self.poster.post_many(connection_id, frames):
            self.registry.remove(connection_id)
            return False
        return True

    # replay
    def replay(self, connection_id: str, order_id: str) -> None:
        """Once a `?orderId=` connection is open: acknowledge, subscribe, and send the order's events so far."""
        if not self._await_open(connection_id, {"type": "subscribed", "orderId": order_id}):
            return
        state = self.registry.state(connection_id)
        if state is None:  # disconnected meanwhile
            return
        self.registry.subscribe(connection_id, order_id, state.connected_at_ms, self._now_ms())
        frames = self.events_so_far(order_id)
        if self._send(connection_id, frames):
            self._go_live(connection_id, order_id, frames[-1]["seq"] if frames else 0)

    def _go_live(self, connection_id: str, order_id: str, last_seq: int) -> None:
        """Send the frames held back while the replay (up to `last_seq`) was sent, until none are held: the
        subscription is then live, and the executor's next post to it comes after every one of these."""
        while held := self.registry.release_held(connection_id, order_id):
            newer = sorted((f for f in held if f.get("seq", 0) > last_seq), key=lambda f: f["seq"])
            if newer:
                if not self._send(connection_id, newer):
                    return
                last_seq = newer[-1]["seq"]

    def _await_open(self, connection_id: str, first: dict[str, Any]) -> bool:
        deadline = time.monotonic() + self.settings.ws_replay_wait_ms / 1000
        delay = REPLAY_FIRST_DELAY_S
        while True:
            result = self.poster.post(connection_id, first)
            if result is PostResult.DELIVERED:
                self.registry.mark_open(connection_id)
                return True
            state = self.registry.state(connection_id)
            if state is None:  # disconnected meanwhile
                return False
            if time.monotonic() >= deadline or (result is PostResult.GONE and state.open):
                if result is PostResult.GONE:
                    self.registry.remove(connection_id)
                logger.warning("replay gave up", extra={"connection_id": connection_id, "result": result.value})
                return False
            self.sleep(delay)
            delay = min(delay * 2, REPLAY_MAX_DELAY_S)

    def events_so_far(self, order_id: str) -> list[dict[str, Any]]:
        """The order's event frames in seq order; empty for an order that does not exist."""
        frames = self.log.frames(order_id)
        if _contiguous_from_one(frames):
            return frames
        durable = [event.to_message() for event in self.history.events(order_id)]
        last = durable[-1]["seq"] if durable else 0
        return durable + [f for f in frames if f.get("seq", 0) > last]
