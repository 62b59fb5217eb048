"""An order's live state (HASH) and event log (LIST of frames) in Redis: the executor's writes, and the reads of
the log by a subscriber's replay.

Written after PostgreSQL has the step, for many orders in one script call. A finished order's keys expire, since
PostgreSQL keeps its history for good.
"""
from __future__ import annotations

from typing import Any, Iterable

import orjson
import redis
import redis.asyncio

from order_engine.domain.lifecycle import TERMINAL
from order_engine.domain.order import Order, OrderEvent
from order_engine.adapters.redis.ws_registry import REPLAY_LEASE_MS
from order_engine.adapters.redis.key_scheme import HELD_INFIX, LEASE_SUFFIX, REPLAYING, KeyScheme
from order_engine.adapters.redis.connect import redis_errors, translates_redis_errors
from order_engine.adapters.redis.scripts import register


def live_fields(order: Order) -> dict[str, str]:
    fields = {"status": str(order.status), "seq": str(order.seq), "attempts": str(order.attempts),
              "updatedAt": order.updated_at.isoformat().replace("+00:00", "Z")}
    for name, value in (("dex", order.dex), ("txHash", order.tx_hash), ("error", order.error),
                        ("amountOut", order.amount_out), ("executedPrice", order.executed_price)):
        if value is not None:
            fields[name] = str(value)
    return fields


class RedisLiveState:
    """Writes many orders' steps in one call of lua/live_record.lua (one round trip, a few commands per order)."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme, terminal_ttl_s: int):
        self.redis, self.keys, self.terminal_ttl_s = client, keys, terminal_ttl_s
        self._record = register(client, "live_record")

    @translates_redis_errors
    async def record(self, steps: Iterable[tuple[Order, OrderEvent]]) -> dict[str, set[str]]:
        """Each order's WebSocket subscribers to post to (see lua/live_record.lua)."""
        # an order's steps come in seq order; its fields are what HSETs of each step in turn would leave
        by_order: dict[str, tuple[Order, dict[str, str], list[bytes]]] = {}
        for order, event in steps:
            _, fields, frames = by_order.get(order.id) or (order, {}, [])
            fields.update(live_fields(order))
            frames.append(_dumps(event.to_message()))
            by_order[order.id] = (order, fields, frames)
        if not by_order:
            return {}
        keys: list[str] = []
        args: list[object] = [self.terminal_ttl_s, REPLAY_LEASE_MS, REPLAYING, HELD_INFIX, LEASE_SUFFIX]
        for order_id, (order, fields, frames) in by_order.items():
            keys += [self.keys.order_live(order_id), self.keys.order_events(order_id),
                     self.keys.ws_subscribers(order_id)]
            args += ["1" if order.status in TERMINAL else "0", 2 * len(fields)]
            for item in fields.items():
                args += item
            args.append(len(frames))
            args += frames
        found = await self._record(keys=keys, args=args)
        return {order_id: set(members) for order_id, members in zip(by_order, found)}


def _dumps(value: object) -> bytes:
    return orjson.dumps(value, default=str)


class RedisEventLog:
    """`EventLog`: reading an order's live event log (the JSON frames submit and the executor RPUSH, in seq order)."""

    def __init__(self, client: redis.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys

    def frames(self, order_id: str) -> list[dict[str, Any]]:
        """Every frame Redis still holds for the order (maybe none, maybe only the later ones after a restart)."""
        with redis_errors():
            raw = self.redis.lrange(self.keys.order_events(order_id), 0, -1)
        return [orjson.loads(item) for item in raw]
