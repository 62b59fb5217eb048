"""The executor's writes of an order's live state (HASH) and event log (LIST of frames) in Redis.

Written after PostgreSQL has the step, for many orders in one pipeline. A finished order's keys expire, since
PostgreSQL keeps its history for good.
"""
from __future__ import annotations

from typing import Iterable

import orjson
import redis.asyncio

from order_engine.domain.lifecycle import TERMINAL
from order_engine.domain.orders import Order, OrderEvent
from order_engine.store.keys import Keys
from order_engine.store.redis_client import translates_redis_errors


def live_fields(order: Order) -> dict[str, str]:
    fields = {"status": str(order.status), "seq": str(order.seq), "attempts": str(order.attempts),
              "updatedAt": order.updated_at.isoformat().replace("+00:00", "Z")}
    for name, value in (("dex", order.dex), ("txHash", order.tx_hash), ("error", order.error),
                        ("amountOut", order.amount_out), ("executedPrice", order.executed_price)):
        if value is not None:
            fields[name] = str(value)
    return fields


# KEYS: per step (live hash, event log)   ARGV: ttl, then per step (fields as JSON, frame, terminal '1'|'0')
_RECORD = """
local ttl = ARGV[1]
for i = 1, #KEYS, 2 do
  local j = 2 + (i - 1) / 2 * 3
  local fields = cjson.decode(ARGV[j])
  local flat = {}
  for k, v in pairs(fields) do flat[#flat + 1] = k; flat[#flat + 1] = v end
  redis.call('HSET', KEYS[i], unpack(flat))
  redis.call('RPUSH', KEYS[i + 1], ARGV[j + 1])
  if ARGV[j + 2] == '1' then
    redis.call('EXPIRE', KEYS[i], ttl)
    redis.call('EXPIRE', KEYS[i + 1], ttl)
  end
end
return #KEYS / 2
"""


class LiveState:
    """Writes many orders' steps in one script call (one round trip, little client-side work per step)."""

    def __init__(self, client: redis.asyncio.Redis, keys: Keys, terminal_ttl_s: int):
        self.redis, self.keys, self.terminal_ttl_s = client, keys, terminal_ttl_s
        self._record = client.register_script(_RECORD)

    @translates_redis_errors
    async def record(self, steps: Iterable[tuple[Order, OrderEvent]]) -> None:
        keys: list[str] = []
        args: list[object] = [self.terminal_ttl_s]
        for order, event in steps:
            keys += [self.keys.order_live(order.id), self.keys.order_events(order.id)]
            args += [_dumps(live_fields(order)), _dumps(event.to_message()), "1" if order.status in TERMINAL else "0"]
        if keys:
            await self._record(keys=keys, args=args)


def _dumps(value: object) -> bytes:
    return orjson.dumps(value, default=str)
