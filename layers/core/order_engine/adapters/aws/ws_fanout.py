"""The production `Notifier`: fans an order's event out to its WebSocket subscribers through API Gateway's
management API (`POST {endpoint}/@connections/{connectionId}`, SigV4-signed for `execute-api`).

boto3's `post_to_connection` spends CPU under the GIL on every call, which would cap the engine's throughput;
this sends the same signed request, one per frame, pipelined over a few kept-alive connections
(management_pipe.py): the posts of one loop turn go out in one write per connection, and a subscriber's frames
keep their order on its connection (measured by `python -m local.bench post-cost`, local/bench/ws_delivery.py;
figures in docs/benchmarks.md).

A 410 removes the connection that is gone (unless it is still inside its `$connect`, see adapters/redis/ws_registry.py);
other failures are retried briefly (each try bounded by `ws_post_timeout_ms`); the whole fan-out of one event
is bounded by `ws_publish_timeout_ms`, so a slow client or endpoint costs the executor at most that, and a client
that misses a frame sees the gap in `seq` (and can subscribe again for a replay).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

import redis.asyncio

from order_engine.config import Settings
from order_engine.batching import GroupCommit
from order_engine.adapters.redis.ws_registry import AsyncConnectionRegistry, live_members
from order_engine.adapters.redis.key_scheme import KeyScheme
from order_engine.ports import NO_METRICS, Metrics, PostResult
from order_engine.adapters.aws.management_api import NOT_RETRYABLE, ManagementApiSigner, encode_frame
from order_engine.adapters.aws.management_pipeline import PipelinedClient
from order_engine.adapters.redis.connect import REDIS_ERRORS

logger = logging.getLogger(__name__)

RETRY_BASE_S = 0.02


class ManagementApiNotifier:
    """Delivers each event frame to every subscriber of its order, one POST per connection, concurrently. The
    Redis client (the registry's) is the caller's, bound to the loop the notifier runs on, and closed by it."""

    def __init__(self, settings: Settings, client: redis.asyncio.Redis, keys: KeyScheme,
                 signer: ManagementApiSigner | None = None, metrics: Metrics = NO_METRICS):
        self.settings, self.metrics = settings, metrics
        self.signer = signer or ManagementApiSigner(settings.ws_management_endpoint)
        self.timeout_s = settings.ws_publish_timeout_ms / 1000
        self.post_timeout_s = settings.ws_post_timeout_ms / 1000
        self.stats: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pipes: PipelinedClient | None = None
        self._registry = AsyncConnectionRegistry(client, keys)
        self._lookups: GroupCommit[str, set[str]] | None = None

    def _bind(self) -> tuple[PipelinedClient, AsyncConnectionRegistry]:
        """The HTTP connections belong to one event loop; a new loop gets new ones."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._pipes is None:
            self._loop = loop
            self._pipes = PipelinedClient(self.settings.ws_management_endpoint, self.settings.ws_post_pool_size,
                                          connect_timeout_s=self.post_timeout_s)
            self._lookups = GroupCommit(self._subscribers_of)
        return self._pipes, self._registry

    async def _subscribers_of(self, order_ids: list[str]) -> list[set[str]]:
        # Every step of every order is published, mostly to nobody: the lookups of the events published at the
        # same moment share one round trip (each still issued after its event was stored).
        # An order's steps stored in one write are published together: one lookup for all of them.
        unique = list(dict.fromkeys(order_ids))
        async with self._registry.redis.pipeline(transaction=False) as pipe:
            for order_id in unique:
                pipe.smembers(self._registry.keys.ws_subscribers(order_id))
            found = dict(zip(unique, map(live_members, await pipe.execute())))
        return [found[order_id] for order_id in order_ids]

    async def publish(self, order_id: str, message: dict[str, Any], subscribers: set[str] | None = None) -> None:
        if subscribers is not None and not subscribers:
            return
        pipes, registry = self._bind()
        try:
            async with asyncio.timeout(self.timeout_s):
                assert self._lookups is not None
                connection_ids = subscribers if subscribers is not None else await self._lookups.submit(order_id)
                if not connection_ids:
                    return
                body = encode_frame(message)
                await asyncio.gather(*(self._deliver(pipes, registry, order_id, cid, body) for cid in connection_ids))
        except TimeoutError:
            self.stats["timed_out"] += 1
            logger.warning("fan-out cut off at its time bound",
                           extra={"order_id": order_id, "seq": message.get("seq"), "timeout_s": self.timeout_s})
        except REDIS_ERRORS as exc:
            self.stats["registry_unavailable"] += 1
            logger.warning("fan-out skipped: Redis unavailable", extra={"order_id": order_id, "error": str(exc)})

    async def _deliver(self, pipes: PipelinedClient, registry: AsyncConnectionRegistry, order_id: str,
                       connection_id: str, body: bytes) -> PostResult:
        request = self.signer.post_request(connection_id, body)
        status: int | None = None
        for attempt in range(self.settings.ws_post_attempts):
            if attempt:
                await asyncio.sleep(RETRY_BASE_S * 2 ** (attempt - 1))
            try:
                # per try, the wait for the answers owed before it on its connection included
                status = await pipes.post(connection_id, request, self.post_timeout_s)
            except (OSError, TimeoutError) as exc:
                status = None
                logger.debug("post failed", extra={"connection_id": connection_id, "error": str(exc)})
            if attempt == 0:
                self.metrics.count("FanoutPosts")
            if status is not None and 200 <= status < 300:
                self.stats["delivered"] += 1
                return PostResult.DELIVERED
            if status == 410:
                self.stats["gone"] += 1
                self.metrics.count("FanoutGone")
                await registry.forget_gone(connection_id, int(time.time() * 1000),
                                           self.settings.ws_connect_grace_ms, order_id)
                return PostResult.GONE
            if status in NOT_RETRYABLE:
                break
        self.stats["failed"] += 1
        self.metrics.count("FanoutFailed")
        logger.warning("post to connection failed", extra={"order_id": order_id, "connection_id": connection_id,
                                                           "status": status})
        return PostResult.FAILED

    async def close(self) -> None:
        pipes, self._pipes = self._pipes, None
        lookups, self._lookups = self._lookups, None
        if lookups is not None:
            await lookups.close()
        if pipes is not None:
            pipes.close()


class LoggingNotifier:
    """Delivers nowhere; logs each event. For runs without WebSocket subscribers (benchmarks, tests)."""

    async def publish(self, order_id: str, message: dict[str, Any], subscribers: set[str] | None = None) -> None:
        logger.debug("event", extra={"order_id": order_id, "status": message.get("status"), "seq": message.get("seq")})

    async def close(self) -> None:
        return None
