"""The WebSocket connection registry in Redis: which connections exist and which orders each one watches.

Per connection a HASH (`connectedAt`, `open`, `reader`: the client `$connect` admitted it as, or EVERY_CLIENT) and
a SET of its order ids; per order a SET of its subscribers.
Expiries follow API Gateway's limits, so a registry entry never outlives the connection it describes even when a
`$disconnect` is lost: a connection's keys expire at the earlier of `connectedAt + max duration` and `last message +
idle timeout`; an order's subscriber set expires one maximum connection lifetime after its latest subscribe.

A subscription starts as REPLAYING (`~<connection id>` in the order's subscriber set): while its replay is sent,
the executor appends the order's new frames to the subscriber's held list instead of posting them; the replay then
sends what was held until nothing is, and only then becomes a plain member, posted to by the executor. So a live
frame never overtakes the replay. A replay lease bounds this: a subscriber whose replay died (its lease expired)
is posted to directly again.

`open` is set once the connection is known to accept posts (it sent a message, or a post to it succeeded). Until
then API Gateway answers 410 to posts because `$connect` has not returned, so a 410 within the connect grace
period does not remove a connection that is not yet open.

The scripts are lua/ws_*.lua; the markers and key parts they build keys with (key_scheme.py) come in their ARGV.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import redis
import redis.asyncio

from order_engine.domain.api_keys import EVERY_CLIENT
from order_engine.ports import ConnectionState
from order_engine.adapters.redis.key_scheme import HELD_INFIX, LEASE_SUFFIX, REPLAYING, KeyScheme
from order_engine.adapters.redis.connect import redis_errors
from order_engine.adapters.redis.scripts import register

ORDER_PLACEHOLDER = "{order_id}"
# A replay sends at most an order's few dozen frames once its connection is open (the replay function's wait for
# that comes before the lease): far within this; past it the subscriber's frames are no longer held back.
REPLAY_LEASE_MS = 30_000


def forget_args(keys: KeyScheme, connection_id: str, now_ms: int, grace_ms: int, order_id: str | None) -> list:
    """lua/ws_forget.lua's ARGV (grace_ms -1: remove unconditionally)."""
    return [connection_id, keys.ws_subscribers(ORDER_PLACEHOLDER), now_ms, grace_ms, order_id or "", ORDER_PLACEHOLDER,
            REPLAYING, HELD_INFIX, LEASE_SUFFIX]


def live_members(members: set[str]) -> set[str]:
    """A subscriber set's members the fan-out posts to (a replaying one gets its frames from its replay)."""
    return {member for member in members if not member.startswith(REPLAYING)}


@dataclass(frozen=True)
class Limits:
    """API Gateway's connection limits, in milliseconds."""

    max_connection_ms: int
    idle_ms: int

    def expiry_ms(self, connected_at_ms: int, now_ms: int) -> int:
        """How long a connection's keys live from now: until the sooner of its two limits, at least 1 ms."""
        return max(1, min(connected_at_ms + self.max_connection_ms - now_ms, self.idle_ms))


class RedisConnectionRegistry:
    """The registry as the WebSocket handlers use it (synchronous, one Lambda invocation at a time)."""

    def __init__(self, client: redis.Redis, keys: KeyScheme, limits: Limits):
        self.redis, self.keys, self.limits = client, keys, limits
        self._forget = register(client, "ws_forget")
        self._seen = register(client, "ws_seen")
        self._subscribe = register(client, "ws_subscribe")
        self._release = register(client, "ws_release_held")

    def register(self, connection_id: str, connected_at_ms: int, now_ms: int, reader: str = EVERY_CLIENT) -> None:
        conn = self.keys.ws_connection(connection_id)
        with redis_errors():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(conn, mapping={"connectedAt": connected_at_ms, "open": 0, "reader": reader})
            pipe.pexpire(conn, self.limits.expiry_ms(connected_at_ms, now_ms))
            pipe.execute()

    def seen(self, connection_id: str, connected_at_ms: int, now_ms: int) -> bool:
        """The connection sent a message: it is open, and its idle clock restarts. False when it is gone."""
        ttl = self.limits.expiry_ms(connected_at_ms, now_ms)
        with redis_errors():
            return bool(self._seen(keys=self._conn_keys(connection_id), args=[connected_at_ms, ttl]))

    def mark_open(self, connection_id: str) -> None:
        """A post to the connection succeeded, so its `$connect` has returned."""
        with redis_errors():
            self.redis.hset(self.keys.ws_connection(connection_id), "open", 1)

    def state(self, connection_id: str) -> ConnectionState | None:
        with redis_errors():
            connected_at, is_open, reader = self.redis.hmget(self.keys.ws_connection(connection_id),
                                                             "connectedAt", "open", "reader")
        if connected_at is None:
            return None
        return ConnectionState(int(connected_at), is_open == "1", reader or None)

    def subscribe(self, connection_id: str, order_id: str, connected_at_ms: int, now_ms: int) -> bool:
        """Add the subscription, replaying (the order's new frames are held for it until `release_held` finds
        none), unless the connection is gone (its `$disconnect` already ran): False then."""
        keys = [*self._conn_keys(connection_id), self.keys.ws_subscribers(order_id),
                self.keys.ws_held(order_id, connection_id), self.keys.ws_replay_lease(order_id, connection_id)]
        args = [connection_id, order_id, self.limits.expiry_ms(connected_at_ms, now_ms), self.limits.max_connection_ms,
                REPLAY_LEASE_MS, REPLAYING]
        with redis_errors():
            return bool(self._subscribe(keys=keys, args=args))

    def release_held(self, connection_id: str, order_id: str) -> list[dict]:
        """The frames held for the replaying subscriber since the last call, in the order they were stored; once
        none are, the subscription is live and this returns []."""
        keys = [self.keys.ws_subscribers(order_id), self.keys.ws_held(order_id, connection_id),
                self.keys.ws_replay_lease(order_id, connection_id)]
        with redis_errors():
            return [json.loads(raw) for raw in self._release(keys=keys, args=[connection_id, REPLAYING])]

    def unsubscribe(self, connection_id: str, order_id: str) -> bool:
        """False when the connection was not subscribed to the order."""
        held = self.keys.ws_held(order_id, connection_id)
        with redis_errors():
            pipe = self.redis.pipeline(transaction=True)
            pipe.srem(self.keys.ws_subscribers(order_id), connection_id, REPLAYING + connection_id)
            pipe.srem(self.keys.ws_connection_orders(connection_id), order_id)
            pipe.delete(held, self.keys.ws_replay_lease(order_id, connection_id))
            removed, _, _ = pipe.execute()
        return bool(removed)

    def subscribers(self, order_id: str) -> set[str]:
        """Every connection subscribed to the order, its replay sent or not."""
        with redis_errors():
            return {member.removeprefix(REPLAYING) for member in self.redis.smembers(self.keys.ws_subscribers(order_id))}

    def remove(self, connection_id: str) -> None:
        """Forget a connection and every subscription it had (`$disconnect`)."""
        with redis_errors():
            self._forget(keys=self._conn_keys(connection_id),
                         args=forget_args(self.keys, connection_id, 0, -1, None))

    def forget_gone(self, connection_id: str, now_ms: int, grace_ms: int, order_id: str | None = None) -> bool:
        """A post got 410: remove the connection, unless it is not open yet and younger than `grace_ms`."""
        with redis_errors():
            return bool(
                self._forget(keys=self._conn_keys(connection_id),
                             args=forget_args(self.keys, connection_id, now_ms, grace_ms, order_id))
            )

    def _conn_keys(self, connection_id: str) -> list[str]:
        return [self.keys.ws_connection(connection_id), self.keys.ws_connection_orders(connection_id)]


class AsyncConnectionRegistry:
    """The two registry operations the fan-out needs, on an asyncio client."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._forget = register(client, "ws_forget")

    async def subscribers(self, order_id: str) -> set[str]:
        """The subscribers to post the order's frames to: those whose replay has been sent."""
        return live_members(await self.redis.smembers(self.keys.ws_subscribers(order_id)))

    async def forget_gone(self, connection_id: str, now_ms: int, grace_ms: int, order_id: str | None = None) -> bool:
        keys = [self.keys.ws_connection(connection_id), self.keys.ws_connection_orders(connection_id)]
        args = forget_args(self.keys, connection_id, now_ms, grace_ms, order_id)
        return bool(await self._forget(keys=keys, args=args))
