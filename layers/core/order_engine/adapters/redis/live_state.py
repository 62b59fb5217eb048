"""An order's live state (HASH) and event log (LIST of frames) in Redis: the executor's writes, and the reads of
the log by a subscriber's replay.

Written after PostgreSQL has the step, for many orders in one script call. A finished order's keys expire, since
PostgreSQL keeps its history for good.
"""
from __future__ import annotations

from typing import Iterable

import orjson
import redis
import redis.asyncio

from order_engine.domain.lifecycle import TERMINAL
from order_engine.domain.order import Order, OrderEvent
from order_engine.adapters.redis.ws_registry import REPLAY_LEASE_MS
from order_engine.adapters.redis.key_scheme import HELD_INFIX, LEASE_SUFFIX, REPLAYING, KeyScheme
from order_engine.adapters.redis.connect import redis_errors, translates_redis_errors


def live_fields(order: Order) -> dict[str, str]:
    fields = {"status": str(order.status), "seq": str(order.seq), "attempts": str(order.attempts),
              "updatedAt": order.updated_at.isoformat().replace("+00:00", "Z")}
    for name, value in (("dex", order.dex), ("txHash", order.tx_hash), ("error", order.error),
                        ("amountOut", order.amount_out), ("executedPrice", order.executed_price)):
        if value is not None:
            fields[name] = str(value)
    return fields


# KEYS: per order (live hash, event log, WebSocket subscribers)   ARGV: ttl, held-frames ttl ms, then per order:
# terminal '1'|'0', n, n field/value items, m, m frames. An order's consecutive steps in one call cost one HSET (the
# fields after its last step: no reader sees the steps in between, the script being atomic) and one RPUSH of all
# its frames.
# Returns each order's subscribers to post to, read after its frames were appended: a subscriber that came later
# finds the frames in the log it replays (adapters/redis/ws_registry.py), so the fan-out needs no lookup of its own. A
# subscriber whose replay is still being sent gets the frames appended to its held list instead (its replay sends
# them), unless its replay lease expired: it is then live again.
_RECORD = """
local ttl, held_ttl, a, subscribers = ARGV[1], ARGV[2], 3, {}
for i = 1, #KEYS, 3 do
  local terminal, n = ARGV[a], tonumber(ARGV[a + 1])
  redis.call('HSET', KEYS[i], unpack(ARGV, a + 2, a + 1 + n))
  a = a + 2 + n
  local m = tonumber(ARGV[a])
  redis.call('RPUSH', KEYS[i + 1], unpack(ARGV, a + 1, a + m))
  if terminal == '1' then
    redis.call('EXPIRE', KEYS[i], ttl)
    redis.call('EXPIRE', KEYS[i + 1], ttl)
  end
  local live = {}
  for _, member in ipairs(redis.call('SMEMBERS', KEYS[i + 2])) do
    if string.sub(member, 1, 1) == '%(replaying)s' then
      local conn = string.sub(member, 2)
      local held = KEYS[i + 2] .. '%(held)s' .. conn
      if redis.call('EXISTS', held .. '%(lease)s') == 1 then
        redis.call('RPUSH', held, unpack(ARGV, a + 1, a + m))
        redis.call('PEXPIRE', held, held_ttl)
      else
        redis.call('SREM', KEYS[i + 2], member)
        redis.call('SADD', KEYS[i + 2], conn)
        redis.call('DEL', held)
        live[#live + 1] = conn
      end
    else
      live[#live + 1] = member
    end
  end
  a = a + 1 + m
  subscribers[#subscribers + 1] = live
end
return subscribers
""" % {"replaying": REPLAYING, "held": HELD_INFIX, "lease": LEASE_SUFFIX}


class RedisLiveState:
    """Writes many orders' steps in one script call (one round trip, a few commands per order)."""

    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme, terminal_ttl_s: int):
        self.redis, self.keys, self.terminal_ttl_s = client, keys, terminal_ttl_s
        self._record = client.register_script(_RECORD)

    @translates_redis_errors
    async def record(self, steps: Iterable[tuple[Order, OrderEvent]]) -> dict[str, set[str]]:
        """Each order's WebSocket subscribers (see _RECORD)."""
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
        args: list[object] = [self.terminal_ttl_s, REPLAY_LEASE_MS]
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
