"""A step taken outside the executor (a client's cancel), published the way the executor's are: the same live state
and event log (adapters/redis/live_state.py) and the same notifier (adapters/aws/ws_fanout.py), so subscribers,
replays and GET see it like any other step. It talks to Redis and to the management API, so it sits beside both."""
from __future__ import annotations

import asyncio
import logging

from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.config import Settings
from order_engine.domain.order import Order, OrderEvent
from order_engine.errors import DependencyUnavailable

logger = logging.getLogger(__name__)


class LiveStepPublisher:
    """`StepPublisher`: Redis's live state and event log, then the WebSocket subscribers; best effort, since the
    durable store already has the step (readers fall back to it, and a subscriber's replay reads it there)."""

    def __init__(self, settings: Settings, keys: KeyScheme):
        self.settings, self.keys = settings, keys
        self._signer = None  # the management API's signer, built at the first cancel and kept (its key is daily)

    def publish(self, order: Order, event: OrderEvent) -> None:
        # The HTTP functions are synchronous; the executor's async adapters run on a loop of this call's own.
        asyncio.run(self._publish(order, event))

    async def _publish(self, order: Order, event: OrderEvent) -> None:
        # imported at the first cancel: an HTTP function's cold start never loads aiohttp (see bootstrap)
        from order_engine.adapters.redis.live_state import RedisLiveState
        from order_engine.adapters.aws.management_api import ManagementApiSigner
        from order_engine.adapters.redis.connect import async_client
        from order_engine.adapters.aws.ws_fanout import ManagementApiNotifier

        s = self.settings
        # an asyncio client is bound to its loop, and each publish runs on one of its own: a client per publish,
        # shared by the live state and the notifier's registry
        client = async_client(s.redis_url, max_connections=2)
        try:
            subscribers = None  # looked up by the notifier when Redis did not take the step
            try:
                found = await RedisLiveState(client, self.keys, s.terminal_ttl_s).record([(order, event)])
                subscribers = found.get(order.id, set())
            except DependencyUnavailable:
                logger.warning("could not write the live state of a step to Redis", extra={"order_id": order.id})
            self._signer = self._signer or ManagementApiSigner(s.ws_management_endpoint)
            notifier = ManagementApiNotifier(s, client, self.keys, self._signer)
            try:
                await notifier.publish(order.id, event.to_message(), subscribers)
            finally:
                await notifier.close()
        except Exception as exc:  # noqa: BLE001 - delivery is best effort, as the executor's; the step is stored
            logger.warning("could not publish a step: %s", exc, extra={"order_id": order.id})
        finally:
            await client.aclose()
