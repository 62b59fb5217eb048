"""A step taken outside the executor (a client's cancel), stored and published the way the executor's are: the
same conditional statement (store/transitions.py), then the same live state and event log (store/live_state.py)
and the same notifier (store/ws_notifier.py), so subscribers, replays and GET see it like any other step."""
from __future__ import annotations

import asyncio
import logging

from order_engine.config import Settings
from order_engine.domain.orders import Order, OrderEvent
from order_engine.domain.transition import Transition
from order_engine.errors import DependencyUnavailable
from order_engine.store.keys import Keys
from order_engine.store.postgres import Database
from order_engine.store.transitions import write_transitions

logger = logging.getLogger(__name__)


class PgStepWriter:
    """`StepWriter`: one transition, conditional on the status and seq it was read with."""

    def __init__(self, db: Database):
        self.db = db

    def write(self, transition: Transition) -> bool:
        return write_transitions(self.db, [transition])[0]


class LiveStepPublisher:
    """`StepPublisher`: Redis's live state and event log, then the WebSocket subscribers; best effort, since the
    durable store already has the step (readers fall back to it, and a subscriber's replay reads it there)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._signer = None  # the management API's signer, built at the first cancel and kept (its key is daily)

    def publish(self, order: Order, event: OrderEvent) -> None:
        # The HTTP functions are synchronous; the executor's async adapters run on a loop of this call's own.
        asyncio.run(self._publish(order, event))

    async def _publish(self, order: Order, event: OrderEvent) -> None:
        # imported at the first cancel: an HTTP function's cold start never loads aiohttp (see bootstrap)
        from order_engine.store.live_state import LiveState
        from order_engine.store.management_api import ManagementApiSigner
        from order_engine.store.redis_client import async_client
        from order_engine.store.ws_notifier import ManagementApiNotifier

        s = self.settings
        client = async_client(s.redis_url, max_connections=2)
        try:
            subscribers = None  # looked up by the notifier when Redis did not take the step
            try:
                found = await LiveState(client, Keys(s.key_prefix), s.terminal_ttl_s).record([(order, event)])
                subscribers = found.get(order.id, set())
            except DependencyUnavailable:
                logger.warning("could not write the live state of a step to Redis", extra={"order_id": order.id})
            self._signer = self._signer or ManagementApiSigner(s.ws_management_endpoint)
            notifier = ManagementApiNotifier(s, self._signer)
            try:
                await notifier.publish(order.id, event.to_message(), subscribers)
            finally:
                await notifier.close()
        except Exception as exc:  # noqa: BLE001 - delivery is best effort, as the executor's; the step is stored
            logger.warning("could not publish a step: %s", exc, extra={"order_id": order.id})
        finally:
            await client.aclose()
