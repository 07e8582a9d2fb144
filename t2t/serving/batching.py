"""Dynamic batching: requests that arrive within a few milliseconds decode as one batch.

Requests go into an asyncio queue; one collector task takes the first, then keeps taking
requests with the same decode options until the batch holds `max_batch_size` inputs or
`wait_ms` have passed, and hands the batch to one worker thread. While that thread
decodes, new requests queue up and form the next batch, so under load batches fill
themselves. Requests with other options wait for a batch of their own, in arrival order.
`jobs_per_batch=1` turns batching off (each request decodes alone), for comparison.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

DecodeFn = Callable[[Hashable, list[Any]], list[Any]]


class QueueFullError(Exception):
    """More requests are waiting than the server accepts."""


@dataclass
class _Job:
    key: Hashable
    items: list[Any]
    future: asyncio.Future = field(repr=False)


_STOP = _Job(key=object(), items=[], future=None)  # type: ignore[arg-type]


class Batcher:
    """Collects submitted jobs into batches and decodes them on one worker thread.

    Args:
        decode: `(key, items) -> results`, one result per item, run on the worker thread.
        max_batch_size: most items in one batch (a larger job still decodes, alone).
        wait_ms: how long the first job of a batch waits for others.
        max_queue: most jobs waiting; `submit` raises QueueFullError beyond.
        jobs_per_batch: most jobs (requests) in one batch; 1 disables batching.
    """

    def __init__(
        self,
        decode: DecodeFn,
        max_batch_size: int = 32,
        wait_ms: float = 5.0,
        max_queue: int = 1024,
        jobs_per_batch: int = 0,
    ) -> None:
        self.decode = decode
        self.max_batch_size = max(1, max_batch_size)
        self.wait = max(0.0, wait_ms) / 1000.0
        self.max_queue = max_queue
        self.jobs_per_batch = jobs_per_batch or 1 << 30
        self.batches = 0  # decode calls so far
        self.items = 0  # items decoded so far
        self.largest_batch = 0
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def queued(self) -> int:
        """Jobs waiting for a batch."""
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        """Starts the collector task and the worker thread (inside the server's event loop)."""
        self._queue = asyncio.Queue()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="decode")
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Decodes every job already submitted, then stops."""
        if self._task is None:
            return
        self._queue.put_nowait(_STOP)
        await self._task
        self._executor.shutdown(wait=True)
        self._task = None

    async def submit(self, key: Hashable, items: list[Any]) -> list[Any]:
        """Decodes `items` with the options `key` stands for, in some batch; their results.

        Raises:
            QueueFullError: max_queue jobs are already waiting.
            RuntimeError: the batcher was stopped.
        """
        if self._task is None:
            await self.start()  # the first request starts it when no lifespan did
        elif self._task.done():
            raise RuntimeError("the batcher was stopped")
        if self._queue.qsize() >= self.max_queue:
            raise QueueFullError(f"{self._queue.qsize()} requests are waiting")
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(key, list(items), future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        later: collections.deque[_Job] = collections.deque()
        while True:
            first = later.popleft() if later else await self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            size = len(first.items)
            deadline = loop.time() + self.wait
            for job in list(later):  # jobs set aside earlier with these options
                if len(batch) >= self.jobs_per_batch or size >= self.max_batch_size:
                    break
                if job.key == first.key and size + len(job.items) <= self.max_batch_size:
                    later.remove(job)
                    batch.append(job)
                    size += len(job.items)
            while size < self.max_batch_size and len(batch) < self.jobs_per_batch:
                job = await self._next(deadline - loop.time())
                if job is None:
                    break
                if job is not _STOP and job.key == first.key:
                    if size + len(job.items) <= self.max_batch_size:
                        batch.append(job)
                        size += len(job.items)
                        continue
                later.append(job)
                if job is _STOP:
                    break
            await self._decode(batch)

    async def _next(self, timeout: float) -> _Job | None:
        """The next queued job, waiting at most `timeout` seconds (None: none came)."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    async def _decode(self, batch: list[_Job]) -> None:
        items = [item for job in batch for item in job.items]
        self.batches += 1
        self.items += len(items)
        self.largest_batch = max(self.largest_batch, len(items))
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self.decode, batch[0].key, items)
        except Exception as error:  # handed to every waiting request
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        start = 0
        for job in batch:
            if not job.future.done():  # a request that timed out has stopped waiting
                job.future.set_result(results[start : start + len(job.items)])
            start += len(job.items)
