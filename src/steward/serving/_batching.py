"""Group commit across a worker's concurrent requests, on the event loop's side.

The prediction log's writer thread flushes whatever is queued at once; handing it one request
at a time still costs a thread wake-up and a cross-thread callback per request, and on two
cores those hand-offs (and the interpreter lock they wait for) cost more than the model. So
the requests of one event loop queue their records here: while one batch is being made
durable, the records of every request that arrives are gathered, and submitted as one batch
the moment the previous one is on disk. One hand-off per flush, whatever the concurrency; a
request's await still ends only when its records are durable (or raises the write's error).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

__all__ = ["LogBatcher"]


class LogBatcher:
    """Batches ``PredictionLog.submit`` calls of one event loop (not thread-safe: the loop's
    own coroutines only)."""

    def __init__(self, log: Any) -> None:
        self._log = log
        self._records: list[Any] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._in_flight = False

    async def write(self, records: list[Any]) -> None:
        """Return once ``records`` are durable."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._records.extend(records)
        self._waiters.append(done)
        if not self._in_flight:
            self._submit(loop)
        await done

    def _submit(self, loop: asyncio.AbstractEventLoop) -> None:
        records, waiters = self._records, self._waiters
        self._records, self._waiters = [], []
        self._in_flight = True
        try:
            durable = self._log.submit(records)
        except BaseException as exc:  # a closed log: fail these requests, keep serving
            self._finish(exc, waiters, loop)
            return

        def finished(future: Future[None]) -> None:  # in the log's writer thread
            loop.call_soon_threadsafe(self._finish, future.exception(), waiters, loop)

        durable.add_done_callback(finished)

    def _finish(
        self,
        error: BaseException | None,
        waiters: list[asyncio.Future[None]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._in_flight = False
        for waiter in waiters:
            if waiter.done():  # the request was cancelled (its client went away)
                continue
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(None)
        if self._records:
            self._submit(loop)
