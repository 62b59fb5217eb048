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

ORDER_PLACEHOLDER = "{order_id}"
# A replay sends at most an order's few dozen frames once its connection is open (the replay function's wait for
# that comes before the lease): far within this; past it the subscriber's frames are no longer held back.
REPLAY_LEASE_MS = 30_000

# KEYS: connection hash, connection's order set. ARGV: connection id, subscriber-set key template, now ms,
# grace ms (-1: remove unconditionally), the order whose post got the 410 ('' for none).
_FORGET = """
if tonumber(ARGV[4]) >= 0 then
  local state = redis.call('HMGET', KEYS[1], 'connectedAt', 'open')
  if state[1] and state[2] ~= '1' and tonumber(ARGV[3]) - tonumber(state[1]) < tonumber(ARGV[4]) then
    return 0
  end
end
local orders = redis.call('SMEMBERS', KEYS[2])
if ARGV[5] ~= '' then table.insert(orders, ARGV[5]) end
for _, order_id in ipairs(orders) do
  local subscribers = (string.gsub(ARGV[2], '{order_id}', order_id))
  local held = subscribers .. '%(held)s' .. ARGV[1]
  redis.call('SREM', subscribers, ARGV[1], '%(replaying)s' .. ARGV[1])
  redis.call('DEL', held, held .. '%(lease)s')
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
""" % {"held": HELD_INFIX, "replaying": REPLAYING, "lease": LEASE_SUFFIX}


# A message handled after its connection's `$disconnect` (both were in flight at once) must not bring the
# connection's keys back: nothing would remove them before they expire. Both return 0 when the connection is gone.
# KEYS: connection hash, connection's order set. ARGV: connectedAt, ttl ms.
_SEEN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'connectedAt', ARGV[1], 'open', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
# A subscription starts replaying (see the module's docstring); subscribing again replays again.
# KEYS: connection hash, connection's order set, the order's subscriber set, the held list, the replay lease.
# ARGV: connection id, order id, the order set's ttl ms, the subscriber set's ttl ms, the lease ms.
_SUBSCRIBE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[3], '%(replaying)s' .. ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('DEL', KEYS[4])
redis.call('SET', KEYS[5], '1', 'PX', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
""" % {"replaying": REPLAYING}
# The frames held for a replaying subscriber, emptied; when none are left, the subscription goes live (unless it
# was removed meanwhile). KEYS: the order's subscriber set, the held list, the replay lease. ARGV: connection id.
_RELEASE = """
local frames = redis.call('LRANGE', KEYS[2], 0, -1)
if #frames > 0 then
  redis.call('DEL', KEYS[2])
  return frames
end
redis.call('DEL', KEYS[3])
if redis.call('SREM', KEYS[1], '%(replaying)s' .. ARGV[1]) == 1 then redis.call('SADD', KEYS[1], ARGV[1]) end
return frames
""" % {"replaying": REPLAYING}


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
        self._forget = client.register_script(_FORGET)
        self._seen = client.register_script(_SEEN)
        self._subscribe = client.register_script(_SUBSCRIBE)
        self._release = client.register_script(_RELEASE)

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
                REPLAY_LEASE_MS]
        with redis_errors():
            return bool(self._subscribe(keys=keys, args=args))

    def release_held(self, connection_id: str, order_id: str) -> list[dict]:
        """The frames held for the replaying subscriber since the last call, in the order they were stored; once
        none are, the subscription is live and this returns []."""
        keys = [self.keys.ws_subscribers(order_id), self.keys.ws_held(order_id, connection_id),
                self.keys.ws_replay_lease(order_id, connection_id)]
        with redis_errors():
            return [json.loads(raw) for raw in self._release(keys=keys, args=[connection_id])]

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
            self._forget(keys=self._conn_keys(connection_id), args=self._forget_args(connection_id, 0, -1, None))

    def forget_gone(self, connection_id: str, now_ms: int, grace_ms: int, order_id: str | None = None) -> bool:
        """A post got 410: remove the connection, unless it is not open yet and younger than `grace_ms`."""
        with redis_errors():
            return bool(
                self._forget(keys=self._conn_keys(connection_id),
                             args=self._forget_args(connection_id, now_ms, grace_ms, order_id))
            )

    def _conn_keys(self, connection_id: str) -> list[str]:
        return [self.keys.ws_connection(connection_id), self.keys.ws_connection_orders(connection_id)]

    def _forget_args(self, connection_id: str, now_ms: int, grace_ms: int, order_id: str | None) -> list:
        return [connection_id, self.keys.ws_subscribers(ORDER_PLACEHOLDER), now_ms, grace_ms, order_id or ""]


class AsyncConnectionRegistry:
    """The two registry operations the fan-out needs, on an asyncio client."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme):
        self.redis, self.keys = client, keys
        self._forget = client.register_script(_FORGET)

    async def subscribers(self, order_id: str) -> set[str]:
        """The subscribers to post the order's frames to: those whose replay has been sent."""
        return live_members(await self.redis.smembers(self.keys.ws_subscribers(order_id)))

    async def forget_gone(self, connection_id: str, now_ms: int, grace_ms: int, order_id: str | None = None) -> bool:
        keys = [self.keys.ws_connection(connection_id), self.keys.ws_connection_orders(connection_id)]
        args = [connection_id, self.keys.ws_subscribers(ORDER_PLACEHOLDER), now_ms, grace_ms, order_id or ""]
        return bool(await self._forget(keys=keys, args=args))
