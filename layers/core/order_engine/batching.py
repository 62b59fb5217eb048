"""Group commit for asyncio callers: many concurrent `submit`s, one `flush(batch)` call per round.

While one flush runs, new items queue up; the next flush takes all of them. No timer adds latency: a lone item
is flushed at once, and under load batches grow by themselves to match what the flush can absorb.
"""
from __future__ import annotations

import asyncio
import contextvars
from typing import Awaitable, Callable, Generic, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Coalesces `submit(item)` calls into `flush(items) -> results` (one result per item, same order)."""

    def __init__(self, flush: Callable[[list[Item]], Awaitable[Sequence[Result]]], max_batch: int = 1000):
        self._flush = flush
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: Item) -> Result:
        if self._task is None or self._task.done():
            # a context of its own: the flush works for many callers, so it must not inherit the first one's
            # (such as the order its log lines would otherwise name, see log_context)
            self._task = asyncio.create_task(self._run(), context=contextvars.Context())
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
                self.batches += 1
                self.items += len(batch)
                try:
                    results = await self._flush([item for item, _ in batch])
                except BaseException as exc:  # noqa: BLE001 - every waiter hears about the failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for (_, future), result in zip(batch, results):
                    if not future.done():
                        future.set_result(result)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - already reported to the waiters
                pass
            for _, future in self._pending:
                if not future.done():
                    future.cancel()
            self._pending = []
