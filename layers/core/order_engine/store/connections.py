"""The WebSocket connection registry in Redis: which connections exist and which orders each one watches.

Per connection a HASH (`connectedAt`, `open`, `reader`: the client `$connect` admitted it as, or EVERY_CLIENT) and
a SET of its order ids; per order a SET of its subscribers.
Expiries follow API Gateway's limits, so a registry entry never outlives the connection it describes even when a
`$disconnect` is lost: a connection's keys expire at the earlier of `connectedAt + max duration` and `last message +
idle timeout`; an order's subscriber set expires one maximum connection lifetime after its latest subscribe.

`open` is set once the connection is known to accept posts (it sent a message, or a post to it succeeded). Until
then API Gateway answers 410 to posts because `$connect` has not returned, so a 410 within the connect grace
period does not remove a connection that is not yet open.
"""
from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio

from order_engine.domain.access import EVERY_CLIENT
from order_engine.ports import ConnectionState
from order_engine.store.keys import Keys
from order_engine.store.redis_client import redis_errors

ORDER_PLACEHOLDER = "{order_id}"

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
  redis.call('SREM', (string.gsub(ARGV[2], '{order_id}', order_id)), ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""


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
# KEYS: connection hash, connection's order set, the order's subscriber set.
# ARGV: connection id, order id, the order set's ttl ms, the subscriber set's ttl ms.
_SUBSCRIBE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Limits:
    """API Gateway's connection limits, in milliseconds."""

    max_connection_ms: int
    idle_ms: int

    def expiry_ms(self, connected_at_ms: int, now_ms: int) -> int:
        """How long a connection's keys live from now: until the sooner of its two limits, at least 1 ms."""
        return max(1, min(connected_at_ms + self.max_connection_ms - now_ms, self.idle_ms))


class ConnectionRegistry:
    """The registry as the WebSocket handlers use it (synchronous, one Lambda invocation at a time)."""

    def __init__(self, client: redis.Redis, keys: Keys, limits: Limits):
        self.redis, self.keys, self.limits = client, keys, limits
        self._forget = client.register_script(_FORGET)
        self._seen = client.register_script(_SEEN)
        self._subscribe = client.register_script(_SUBSCRIBE)

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
        """Add the subscription, unless the connection is gone (its `$disconnect` already ran): False then."""
        keys = [*self._conn_keys(connection_id), self.keys.ws_subscribers(order_id)]
        args = [connection_id, order_id, self.limits.expiry_ms(connected_at_ms, now_ms), self.limits.max_connection_ms]
        with redis_errors():
            return bool(self._subscribe(keys=keys, args=args))

    def unsubscribe(self, connection_id: str, order_id: str) -> bool:
        """False when the connection was not subscribed to the order."""
        with redis_errors():
            pipe = self.redis.pipeline(transaction=True)
            pipe.srem(self.keys.ws_subscribers(order_id), connection_id)
            pipe.srem(self.keys.ws_connection_orders(connection_id), order_id)
            removed, _ = pipe.execute()
        return bool(removed)

    def subscribers(self, order_id: str) -> set[str]:
        with redis_errors():
            return self.redis.smembers(self.keys.ws_subscribers(order_id))

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

    def __init__(self, client: redis.asyncio.Redis, keys: Keys):
        self.redis, self.keys = client, keys
        self._forget = client.register_script(_FORGET)

    async def subscribers(self, order_id: str) -> set[str]:
        return await self.redis.smembers(self.keys.ws_subscribers(order_id))

    async def forget_gone(self, connection_id: str, now_ms: int, grace_ms: int, order_id: str | None = None) -> bool:
        keys = [self.keys.ws_connection(connection_id), self.keys.ws_connection_orders(connection_id)]
        args = [connection_id, self.keys.ws_subscribers(ORDER_PLACEHOLDER), now_ms, grace_ms, order_id or ""]
        return bool(await self._forget(keys=keys, args=args))
